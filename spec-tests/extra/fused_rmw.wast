;; f64 read-modify-writes the interpreter runs as one instruction: `m[p] -= a * b * c`
;; (x_f64_mul3_sub_rmw), `p = q + k; m[p] += y * m[r + j]` (x_f64_madd_rmw_at),
;; `acc += m[s] * k; m[t] = acc` at constant addresses (x_f64_acc_mulk_a), and `m[p] op= a * b`
;; whose load comes before the computation of a and b (x_f64_rmw_add_mul, x_f64_rmw_sub_mul: the
;; load moves down past f64 arithmetic and loads, never past a call). Expected values are
;; IEEE double arithmetic in the order the wasm operators give, computed in Python; the operands
;; are chosen so that another association or a fused multiply-add gives a different double.
(module
  (memory 1)
  (func (export "setf") (param $a i32) (param $v f64) (f64.store (local.get $a) (local.get $v)))
  (func (export "getf") (param $a i32) (result f64) (f64.load (local.get $a)))

  ;; m[p + 8] = m[p + 8] - a * b * c
  (func (export "sub3") (param $p i32) (param $a f64) (param $b f64) (param $c f64)
    (f64.store offset=8 (local.get $p)
      (f64.sub (f64.load offset=8 (local.get $p))
               (f64.mul (f64.mul (local.get $a) (local.get $b)) (local.get $c)))))
  ;; the same with the load at another offset than the store: a plain load, product and store
  (func (export "sub3_moved") (param $p i32) (param $a f64) (param $b f64) (param $c f64)
    (f64.store offset=16 (local.get $p)
      (f64.sub (f64.load offset=8 (local.get $p))
               (f64.mul (f64.mul (local.get $a) (local.get $b)) (local.get $c)))))

  ;; p2 = p + 8 (wrapping); m[p2] += y * m[q + 8]; returns p2
  (func (export "madd_at") (param $p i32) (param $q i32) (param $y f64) (result i32)
    (local $p2 i32)
    (local.set $p2 (i32.add (local.get $p) (i32.const 8)))
    (f64.store (local.get $p2)
      (f64.add (f64.load (local.get $p2))
               (f64.mul (local.get $y) (f64.load (i32.add (local.get $q) (i32.const 8))))))
    (local.get $p2))

  ;; m[p + 8] = m[p + 8] - (a + m[q]) * sqrt(b): the load of m[p + 8] first, then a load of m[q]
  (func (export "sink_sub") (param $p i32) (param $q i32) (param $a f64) (param $b f64)
    (f64.store offset=8 (local.get $p)
      (f64.sub (f64.load offset=8 (local.get $p))
               (f64.mul (f64.add (local.get $a) (f64.load (local.get $q))) (f64.sqrt (local.get $b))))))
  (func (export "sink_add") (param $p i32) (param $q i32) (param $a f64) (param $b f64)
    (f64.store (local.get $p)
      (f64.add (f64.load (local.get $p))
               (f64.mul (f64.add (local.get $a) (f64.load (local.get $q))) (f64.sqrt (local.get $b))))))
  ;; a call between the load and the update writes m[p]: the update uses the value read before
  (func $clobber (result f64) (f64.store (i32.const 800) (f64.const 100)) (f64.const 2))
  (func (export "no_sink_past_call") (param $p i32) (param $a f64)
    (f64.store (local.get $p)
      (f64.sub (f64.load (local.get $p)) (f64.mul (call $clobber) (local.get $a)))))
  ;; likewise a store in a block between them
  (func (export "no_sink_past_store") (param $a f64) (param $p i32)
    (f64.store (local.get $p)
      (f64.sub (f64.load (local.get $p))
               (f64.mul (block (result f64) (f64.store (local.get $p) (f64.const 100)) (local.get $a))
                        (local.get $a)))))

  ;; c[j] += y * b[j] for j < 2n, unrolled by two as LLVM does (x_f64_madd2_rmw)
  (func (export "axpy2") (param $c i32) (param $b i32) (param $n i32) (param $y f64) (local $c2 i32)
    (loop $l
      (f64.store (local.get $c)
        (f64.add (f64.load (local.get $c)) (f64.mul (local.get $y) (f64.load (local.get $b)))))
      (local.set $c2 (i32.add (local.get $c) (i32.const 8)))
      (f64.store (local.get $c2)
        (f64.add (f64.load (local.get $c2))
                 (f64.mul (local.get $y) (f64.load (i32.add (local.get $b) (i32.const 8))))))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; acc += m[16] * 0.3623; m[40] = acc; returns acc
  (func (export "acc") (param $acc f64) (result f64)
    (local.set $acc (f64.add (local.get $acc) (f64.mul (f64.load (i32.const 16)) (f64.const 0.3623))))
    (f64.store (i32.const 40) (local.get $acc))
    (local.get $acc))
  ;; the load at the last 8 bytes of the page, the store past it
  (func (export "acc_store_oob") (param $acc f64) (result f64)
    (local.set $acc (f64.add (local.get $acc) (f64.mul (f64.load (i32.const 65528)) (f64.const 2))))
    (f64.store (i32.const 65529) (local.get $acc))
    (local.get $acc))
  ;; the load past the page
  (func (export "acc_load_oob") (param $acc f64) (result f64)
    (local.set $acc (f64.add (local.get $acc) (f64.mul (f64.load (i32.const 65532)) (f64.const 2))))
    (f64.store (i32.const 48) (local.get $acc))
    (local.get $acc))
)

;; sub3: 1.366 - (0.656 * 1.828) * 2.48 (a * (b * c) would give -1.6079366400000006)
(invoke "setf" (i32.const 108) (f64.const 1.366))
(invoke "sub3" (i32.const 100) (f64.const 0.656) (f64.const 1.828) (f64.const 2.48))
(assert_return (invoke "getf" (i32.const 108)) (f64.const -1.6079366399999997))
(assert_return (invoke "getf" (i32.const 100)) (f64.const 0))
(assert_return (invoke "getf" (i32.const 116)) (f64.const 0))
;; the product subtracted from the memory value, not the other way round
(invoke "setf" (i32.const 108) (f64.const 10))
(invoke "sub3" (i32.const 100) (f64.const 1) (f64.const 2) (f64.const 3))
(assert_return (invoke "getf" (i32.const 108)) (f64.const 4))
;; effective address p + 8 past the page: trap, nothing written
(invoke "setf" (i32.const 65528) (f64.const 5))
(assert_trap (invoke "sub3" (i32.const 65521) (f64.const 1) (f64.const 1) (f64.const 1)) "out of bounds memory access")
(assert_return (invoke "getf" (i32.const 65528)) (f64.const 5))
(invoke "sub3" (i32.const 65520) (f64.const 1) (f64.const 1) (f64.const 1))
(assert_return (invoke "getf" (i32.const 65528)) (f64.const 4))
;; p + 8 is not wrapped to 32 bits: p = 0xfffffff8 traps
(assert_trap (invoke "sub3" (i32.const -8) (f64.const 1) (f64.const 1) (f64.const 1)) "out of bounds memory access")
;; sub3_moved: read at p + 8, written at p + 16
(invoke "setf" (i32.const 208) (f64.const 1.366))
(invoke "setf" (i32.const 216) (f64.const 99))
(invoke "sub3_moved" (i32.const 200) (f64.const 0.656) (f64.const 1.828) (f64.const 2.48))
(assert_return (invoke "getf" (i32.const 208)) (f64.const 1.366))
(assert_return (invoke "getf" (i32.const 216)) (f64.const -1.6079366399999997))

;; madd_at: 2.661 + 0.931 * 0.281 (a fused multiply-add would give 2.9226110000000003)
(invoke "setf" (i32.const 308) (f64.const 2.661))
(invoke "setf" (i32.const 408) (f64.const 0.281))
(assert_return (invoke "madd_at" (i32.const 300) (i32.const 400) (f64.const 0.931)) (i32.const 308))
(assert_return (invoke "getf" (i32.const 308)) (f64.const 2.922611))
(assert_return (invoke "getf" (i32.const 400)) (f64.const 0))
;; p + 8 wraps to address 0 (an i32.add), and q + 8 likewise to 8
(invoke "setf" (i32.const 0) (f64.const 1))
(invoke "setf" (i32.const 8) (f64.const 2))
(assert_return (invoke "madd_at" (i32.const -8) (i32.const 0) (f64.const 3)) (i32.const 0))
(assert_return (invoke "getf" (i32.const 0)) (f64.const 7))
(assert_return (invoke "madd_at" (i32.const 0) (i32.const -8) (f64.const 0.5)) (i32.const 8))
(assert_return (invoke "getf" (i32.const 8)) (f64.const 5.5))
;; either address out of bounds traps and writes nothing
(invoke "setf" (i32.const 65528) (f64.const 5))
(assert_trap (invoke "madd_at" (i32.const 65521) (i32.const 400) (f64.const 1)) "out of bounds memory access")
(assert_trap (invoke "madd_at" (i32.const 65520) (i32.const 65521) (f64.const 1)) "out of bounds memory access")
(assert_return (invoke "getf" (i32.const 65528)) (f64.const 5))

;; acc: 1.015 + m[16] * 0.3623 with m[16] = 1.934 (fused: 1.7156882)
(invoke "setf" (i32.const 16) (f64.const 1.934))
(assert_return (invoke "acc" (f64.const 1.015)) (f64.const 1.7156881999999998))
(assert_return (invoke "getf" (i32.const 40)) (f64.const 1.7156881999999998))
(assert_return (invoke "getf" (i32.const 16)) (f64.const 1.934))
;; NaN and infinity go through as in separate operations
(invoke "setf" (i32.const 16) (f64.const inf))
(assert_return (invoke "acc" (f64.const 1)) (f64.const inf))
(assert_return (invoke "acc" (f64.const -inf)) (f64.const nan:canonical))
(assert_return (invoke "getf" (i32.const 40)) (f64.const nan:canonical))
;; the store out of bounds: trap after the load; the load out of bounds: trap before the store
(invoke "setf" (i32.const 65528) (f64.const 3))
(invoke "setf" (i32.const 48) (f64.const 9))
(assert_trap (invoke "acc_store_oob" (f64.const 1)) "out of bounds memory access")
(assert_return (invoke "getf" (i32.const 65528)) (f64.const 3))
(assert_trap (invoke "acc_load_oob" (f64.const 1)) "out of bounds memory access")
(assert_return (invoke "getf" (i32.const 48)) (f64.const 9))

;; sink_sub: 2.904 - (1.678 + 1.173) * sqrt(3.059) (a fused multiply-add: -2.0823981849627695)
(invoke "setf" (i32.const 508) (f64.const 2.904))
(invoke "setf" (i32.const 600) (f64.const 1.173))
(invoke "sink_sub" (i32.const 500) (i32.const 600) (f64.const 1.678) (f64.const 3.059))
(assert_return (invoke "getf" (i32.const 508)) (f64.const -2.08239818496277))
(assert_return (invoke "getf" (i32.const 600)) (f64.const 1.173))
;; the second load reads the same address: 10 - (1 + 10) * 2
(invoke "setf" (i32.const 508) (f64.const 10))
(invoke "sink_sub" (i32.const 500) (i32.const 508) (f64.const 1) (f64.const 4))
(assert_return (invoke "getf" (i32.const 508)) (f64.const -12))
;; sink_add: 1.5 + (0.25 + 0.5) * sqrt(2.25)
(invoke "setf" (i32.const 700) (f64.const 1.5))
(invoke "setf" (i32.const 708) (f64.const 0.5))
(invoke "sink_add" (i32.const 700) (i32.const 708) (f64.const 0.25) (f64.const 2.25))
(assert_return (invoke "getf" (i32.const 700)) (f64.const 2.625))
;; either load out of bounds: trap, nothing written
(invoke "setf" (i32.const 65528) (f64.const 5))
(assert_trap (invoke "sink_sub" (i32.const 65521) (i32.const 600) (f64.const 1) (f64.const 1)) "out of bounds memory access")
(assert_trap (invoke "sink_sub" (i32.const 65520) (i32.const 65529) (f64.const 1) (f64.const 1)) "out of bounds memory access")
(assert_trap (invoke "sink_add" (i32.const 65528) (i32.const -8) (f64.const 1) (f64.const 1)) "out of bounds memory access")
(assert_return (invoke "getf" (i32.const 65528)) (f64.const 5))
;; 7 - 2 * 3, with m[p] = 100 written by the call after the load
(invoke "setf" (i32.const 800) (f64.const 7))
(invoke "no_sink_past_call" (i32.const 800) (f64.const 3))
(assert_return (invoke "getf" (i32.const 800)) (f64.const 1))
;; likewise with the store in a block
(invoke "setf" (i32.const 800) (f64.const 7))
(invoke "no_sink_past_store" (f64.const 3) (i32.const 800))
(assert_return (invoke "getf" (i32.const 800)) (f64.const -2))

;; axpy2 over c = [1, 2.661, 3, 4] at 1000 and b = [10, 0.281, 30, 40] at 2000, y = 0.931
;; (c[1]: 2.922611; a fused multiply-add would give 2.9226110000000003)
(invoke "setf" (i32.const 1000) (f64.const 1))
(invoke "setf" (i32.const 1008) (f64.const 2.661))
(invoke "setf" (i32.const 1016) (f64.const 3))
(invoke "setf" (i32.const 1024) (f64.const 4))
(invoke "setf" (i32.const 2000) (f64.const 10))
(invoke "setf" (i32.const 2008) (f64.const 0.281))
(invoke "setf" (i32.const 2016) (f64.const 30))
(invoke "setf" (i32.const 2024) (f64.const 40))
(invoke "axpy2" (i32.const 1000) (i32.const 2000) (i32.const 2) (f64.const 0.931))
(assert_return (invoke "getf" (i32.const 1000)) (f64.const 10.31))
(assert_return (invoke "getf" (i32.const 1008)) (f64.const 2.922611))
(assert_return (invoke "getf" (i32.const 1016)) (f64.const 30.93))
(assert_return (invoke "getf" (i32.const 1024)) (f64.const 41.24))
(assert_return (invoke "getf" (i32.const 2008)) (f64.const 0.281))
;; b = c - 8: the second element reads the first one just written: 2 + 2 * 1, then 3 + 2 * 4
(invoke "setf" (i32.const 2992) (f64.const 1))
(invoke "setf" (i32.const 3000) (f64.const 2))
(invoke "setf" (i32.const 3008) (f64.const 3))
(invoke "axpy2" (i32.const 3000) (i32.const 2992) (i32.const 1) (f64.const 2))
(assert_return (invoke "getf" (i32.const 3000)) (f64.const 4))
(assert_return (invoke "getf" (i32.const 3008)) (f64.const 11))
;; the second element past the end of memory: the first is written, then the trap
(invoke "setf" (i32.const 65528) (f64.const 1))
(assert_trap (invoke "axpy2" (i32.const 65528) (i32.const 2992) (i32.const 1) (f64.const 2)) "out of bounds memory access")
(assert_return (invoke "getf" (i32.const 65528)) (f64.const 3))
;; the first element's source past the end: nothing written
(assert_trap (invoke "axpy2" (i32.const 3000) (i32.const 65529) (i32.const 1) (f64.const 2)) "out of bounds memory access")
(assert_return (invoke "getf" (i32.const 3000)) (f64.const 4))
