;; tollgate's own script, run like the spec suite on every tier: a float product by a constant that the next add, sub or mul uses (the interpreter makes one instruction of the two), rounded twice as wasm requires: never fused into one multiply-add; likewise `m[p] += a * b * c` as one instruction.
;; Expected values follow from IEEE 754 arithmetic on each instruction in turn (computed independently with Python floats, f32 by rounding each result through struct).
(module
  (func (export "f64_add_mulk_l") (param f64 f64) (result f64) (f64.add (f64.mul (local.get 0) (f64.const 0x1.0000001000000p+0)) (local.get 1)))
  (func (export "f64_add_mulk_r") (param f64 f64) (result f64) (f64.add (local.get 1) (f64.mul (local.get 0) (f64.const 0x1.0000001000000p+0))))
  (func (export "f64_sub_mulk_l") (param f64 f64) (result f64) (f64.sub (f64.mul (local.get 0) (f64.const 0x1.0000001000000p+0)) (local.get 1)))
  (func (export "f64_sub_mulk_r") (param f64 f64) (result f64) (f64.sub (local.get 1) (f64.mul (local.get 0) (f64.const 0x1.0000001000000p+0))))
  (func (export "f64_mul_mulk_l") (param f64 f64) (result f64) (f64.mul (f64.mul (local.get 0) (f64.const 0x1.0000001000000p+0)) (local.get 1)))
  (func (export "f64_mul_mulk_r") (param f64 f64) (result f64) (f64.mul (local.get 1) (f64.mul (local.get 0) (f64.const 0x1.0000001000000p+0))))
  (func (export "f32_add_mulk_l") (param f32 f32) (result f32) (f32.add (f32.mul (local.get 0) (f32.const 0x1.0010000000000p+0)) (local.get 1)))
  (func (export "f32_add_mulk_r") (param f32 f32) (result f32) (f32.add (local.get 1) (f32.mul (local.get 0) (f32.const 0x1.0010000000000p+0))))
  (func (export "f32_sub_mulk_l") (param f32 f32) (result f32) (f32.sub (f32.mul (local.get 0) (f32.const 0x1.0010000000000p+0)) (local.get 1)))
  (func (export "f32_sub_mulk_r") (param f32 f32) (result f32) (f32.sub (local.get 1) (f32.mul (local.get 0) (f32.const 0x1.0010000000000p+0))))
  (func (export "f32_mul_mulk_l") (param f32 f32) (result f32) (f32.mul (f32.mul (local.get 0) (f32.const 0x1.0010000000000p+0)) (local.get 1)))
  (func (export "f32_mul_mulk_r") (param f32 f32) (result f32) (f32.mul (local.get 1) (f32.mul (local.get 0) (f32.const 0x1.0010000000000p+0))))
  (memory 1)
  (func (export "acc3") (param $p i32) (param f64 f64 f64) (result f64)
    local.get $p
    local.get 1
    local.get 2
    f64.mul
    local.get 3
    f64.mul
    local.get $p
    f64.load
    f64.add
    f64.store
    (f64.load (local.get $p)))
  (func (export "set") (param $p i32) (param f64) (f64.store (local.get $p) (local.get 1)))
  ;; p = q + k (kept in a local), then m[p] += a * b * c; returns p (one result: wabt 1.0.32's
  ;; wast2json writes invalid JSON for an assert_trap on a function with two)
  (func (export "get") (param i32) (result f64) (f64.load (local.get 0)))
  (func (export "acc3_at") (param $q i32) (param f64 f64 f64) (result i32) (local $p i32)
    local.get $q
    i32.const 8
    i32.add
    local.tee $p
    local.get 1
    local.get 2
    f64.mul
    local.get 3
    f64.mul
    local.get $p
    f64.load
    f64.add
    f64.store
    (local.get $p))
)
(assert_return (invoke "f64_add_mulk_l" (f64.const 0x1.0000001000000p+0) (f64.const -0x1.0000000000000p+0)) (f64.const 0x1.0000000000000p-27))
(assert_return (invoke "f64_add_mulk_r" (f64.const 0x1.0000001000000p+0) (f64.const -0x1.0000000000000p+0)) (f64.const 0x1.0000000000000p-27))
(assert_return (invoke "f64_sub_mulk_l" (f64.const 0x1.0000001000000p+0) (f64.const -0x1.0000000000000p+0)) (f64.const 0x1.0000001000000p+1))
(assert_return (invoke "f64_sub_mulk_r" (f64.const 0x1.0000001000000p+0) (f64.const -0x1.0000000000000p+0)) (f64.const -0x1.0000001000000p+1))
(assert_return (invoke "f64_mul_mulk_l" (f64.const 0x1.0000001000000p+0) (f64.const -0x1.0000000000000p+0)) (f64.const -0x1.0000002000000p+0))
(assert_return (invoke "f64_mul_mulk_r" (f64.const 0x1.0000001000000p+0) (f64.const -0x1.0000000000000p+0)) (f64.const -0x1.0000002000000p+0))
(assert_return (invoke "f32_add_mulk_l" (f32.const 0x1.0010000000000p+0) (f32.const -0x1.0000000000000p+0)) (f32.const 0x1.0000000000000p-11))
(assert_return (invoke "f32_add_mulk_r" (f32.const 0x1.0010000000000p+0) (f32.const -0x1.0000000000000p+0)) (f32.const 0x1.0000000000000p-11))
(assert_return (invoke "f32_sub_mulk_l" (f32.const 0x1.0010000000000p+0) (f32.const -0x1.0000000000000p+0)) (f32.const 0x1.0010000000000p+1))
(assert_return (invoke "f32_sub_mulk_r" (f32.const 0x1.0010000000000p+0) (f32.const -0x1.0000000000000p+0)) (f32.const -0x1.0010000000000p+1))
(assert_return (invoke "f32_mul_mulk_l" (f32.const 0x1.0010000000000p+0) (f32.const -0x1.0000000000000p+0)) (f32.const -0x1.0020000000000p+0))
(assert_return (invoke "f32_mul_mulk_r" (f32.const 0x1.0010000000000p+0) (f32.const -0x1.0000000000000p+0)) (f32.const -0x1.0020000000000p+0))
(assert_return (invoke "set" (i32.const 64) (f64.const -1)))
(assert_return (invoke "acc3" (i32.const 64) (f64.const 0x1.0000001000000p+0) (f64.const 0x1.0000001000000p+0) (f64.const 1)) (f64.const 0x1.0000000000000p-27))
(assert_return (invoke "acc3" (i32.const 64) (f64.const 0x1.0000001000000p+0) (f64.const 0x1.0000001000000p+0) (f64.const 1)) (f64.const 0x1.0000004000000p+0))
(assert_return (invoke "acc3" (i32.const 65528) (f64.const 2) (f64.const 3) (f64.const 4)) (f64.const 24))
(assert_trap (invoke "acc3" (i32.const 65529) (f64.const 2) (f64.const 3) (f64.const 4)) "out of bounds memory access")
(assert_return (invoke "set" (i32.const 136) (f64.const -1)))
(assert_return (invoke "acc3_at" (i32.const 128) (f64.const 0x1.0000001000000p+0) (f64.const 0x1.0000001000000p+0) (f64.const 1)) (i32.const 136))
(assert_return (invoke "get" (i32.const 136)) (f64.const 0x1.0000000000000p-27))
(assert_return (invoke "acc3_at" (i32.const 65520) (f64.const 2) (f64.const 3) (f64.const 4)) (i32.const 65528))
(assert_return (invoke "get" (i32.const 65528)) (f64.const 48))
(assert_trap (invoke "acc3_at" (i32.const 65521) (f64.const 2) (f64.const 3) (f64.const 4)) "out of bounds memory access")
(assert_return (invoke "acc3_at" (i32.const -4) (f64.const 2) (f64.const 3) (f64.const 4)) (i32.const 4))
(assert_return (invoke "get" (i32.const 4)) (f64.const 24))

;; `a * sqrt(b)` and `k / (a * sqrt(b))` (x_f64_mul_sqrt, x_f64_k_div_mul_sqrt): the square root,
;; the product and the quotient each rounded. Expected values from Python floats.
(module
  (func (export "mul_sqrt") (param $a f64) (param $b f64) (result f64 f64) (local $s f64)
    (local.set $s (f64.sqrt (local.get $b)))
    (f64.mul (local.get $a) (local.get $s))
    (local.get $s))
  (func (export "sqrt_sq") (param $b f64) (result f64) (local $s f64)
    (f64.mul (local.tee $s (f64.sqrt (local.get $b))) (local.get $s)))
  (func (export "inv_dist3") (param $a f64) (param $b f64) (result f64)
    (f64.div (f64.const 0.01) (f64.mul (local.get $a) (f64.sqrt (local.get $b)))))
)
(assert_return (invoke "mul_sqrt" (f64.const 3) (f64.const 2)) (f64.const 4.242640687119286) (f64.const 1.4142135623730951))
(assert_return (invoke "mul_sqrt" (f64.const 2) (f64.const -1)) (f64.const nan:canonical) (f64.const nan:canonical))
(assert_return (invoke "mul_sqrt" (f64.const -0.5) (f64.const inf)) (f64.const -inf) (f64.const inf))
(assert_return (invoke "sqrt_sq" (f64.const 2)) (f64.const 2.0000000000000004))
(assert_return (invoke "inv_dist3" (f64.const 1.4142135623730951) (f64.const 2)) (f64.const 0.004999999999999999))
(assert_return (invoke "inv_dist3" (f64.const 2.5) (f64.const 2.5)) (f64.const 0.002529822128134703))
(assert_return (invoke "inv_dist3" (f64.const 0) (f64.const 0)) (f64.const inf))
(assert_return (invoke "inv_dist3" (f64.const -0) (f64.const 0)) (f64.const -inf))
(assert_return (invoke "inv_dist3" (f64.const 1) (f64.const -1)) (f64.const nan:canonical))
