;; A byte read (i32.load8_u without offset) and the compare-with-constant branch on it, which the
;; interpreter runs as one instruction (x_br_*_imm_ld8r for an address fp[a] + fp[b], ld8k for
;; fp[a] + a constant). Expected values follow from the spec: the byte is zero-extended, the
;; address is the i32 sum (wrapping), and the read traps before the compare.
(module
  (memory 1)
  (data (i32.const 0) "\01ab\"cd\c8\ff")
  (data (i32.const 65534) "x\22")

  ;; index of the first '"' at or after base + i, scanning up (a JSON string scanner)
  (func (export "quote_r") (param $base i32) (param $i i32) (result i32)
    (block $found
      (loop $next
        (br_if $found (i32.eq (i32.load8_u (i32.add (local.get $base) (local.get $i))) (i32.const 34)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))
  ;; the byte at p + q, kept in a local by the fused instruction, or -1 when it is >= 128
  (func (export "byte_r") (param $p i32) (param $q i32) (result i32) (local $c i32)
    (block $high
      (br_if $high (i32.ge_u (local.tee $c (i32.load8_u (i32.add (local.get $p) (local.get $q)))) (i32.const 128)))
      (return (local.get $c)))
    (i32.const -1))
  ;; one compare of each kind on the byte at p + q (0 or 1 each, as bits 0..9)
  (func (export "cmps_r") (param $p i32) (param $q i32) (result i32)
    (i32.or (i32.or (i32.or (call $lt_s_r (local.get $p) (local.get $q))
                            (i32.shl (call $lt_u_r (local.get $p) (local.get $q)) (i32.const 1)))
                    (i32.or (i32.shl (call $ne_r (local.get $p) (local.get $q)) (i32.const 2))
                            (i32.shl (call $gt_s_r (local.get $p) (local.get $q)) (i32.const 3))))
            (i32.shl (call $le_u_r (local.get $p) (local.get $q)) (i32.const 4))))
  (func $lt_s_r (param $p i32) (param $q i32) (result i32)
    (block $t (br_if $t (i32.lt_s (i32.load8_u (i32.add (local.get $p) (local.get $q))) (i32.const -1))) (return (i32.const 0)))
    (i32.const 1))
  (func $lt_u_r (param $p i32) (param $q i32) (result i32)
    (block $t (br_if $t (i32.lt_u (i32.load8_u (i32.add (local.get $p) (local.get $q))) (i32.const -1))) (return (i32.const 0)))
    (i32.const 1))
  (func $ne_r (param $p i32) (param $q i32) (result i32)
    (block $t (br_if $t (i32.ne (i32.load8_u (i32.add (local.get $p) (local.get $q))) (i32.const 456))) (return (i32.const 0)))
    (i32.const 1))
  (func $gt_s_r (param $p i32) (param $q i32) (result i32)
    (block $t (br_if $t (i32.gt_s (i32.load8_u (i32.add (local.get $p) (local.get $q))) (i32.const 199))) (return (i32.const 0)))
    (i32.const 1))
  (func $le_u_r (param $p i32) (param $q i32) (result i32)
    (block $t (br_if $t (i32.le_u (i32.load8_u (i32.add (local.get $p) (local.get $q))) (i32.const 97))) (return (i32.const 0)))
    (i32.const 1))

  ;; the same scan with the address a slot plus a constant, and a plain read
  (func (export "quote_k") (param $p i32) (result i32)
    (block $found
      (loop $next
        (br_if $found (i32.eq (i32.load8_u (i32.add (local.get $p) (i32.const 2))) (i32.const 34)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))
  (func (export "byte_k") (param $p i32) (result i32) (local $c i32)
    (block $high
      (br_if $high (i32.gt_s (local.tee $c (i32.load8_u (i32.add (local.get $p) (i32.const 3)))) (i32.const 127)))
      (return (local.get $c)))
    (i32.sub (i32.const 0) (local.get $c)))
  (func (export "is_a") (param $p i32) (result i32)
    (block $yes (br_if $yes (i32.eq (i32.load8_u (local.get $p)) (i32.const 97))) (return (i32.const 0)))
    (i32.const 1))
  ;; a read with an offset keeps its own instruction; the result is the same
  (func (export "is_a_off") (param $p i32) (result i32)
    (block $yes (br_if $yes (i32.eq (i32.load8_u offset=1 (local.get $p)) (i32.const 97))) (return (i32.const 0)))
    (i32.const 1))
)

;; memory: 0:01 1:'a' 2:'b' 3:'"' 4:'c' 5:'d' 6:0xc8 7:0xff ... 65534:'x' 65535:'"'
(assert_return (invoke "quote_r" (i32.const 0) (i32.const 0)) (i32.const 3))
(assert_return (invoke "quote_r" (i32.const 2) (i32.const 0)) (i32.const 1))
(assert_return (invoke "quote_r" (i32.const 65530) (i32.const 0)) (i32.const 5))
;; base + i wraps around 4 GiB: -2 + 2 = 0
(assert_return (invoke "quote_r" (i32.const -2) (i32.const 2)) (i32.const 5))
;; no quote after 65535: the scan reads 65536 and traps
(assert_trap (invoke "quote_r" (i32.const 65535) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "byte_r" (i32.const 1) (i32.const 0)) (i32.const 97))
(assert_return (invoke "byte_r" (i32.const 0) (i32.const 0)) (i32.const 1))
(assert_return (invoke "byte_r" (i32.const 3) (i32.const 3)) (i32.const -1))
(assert_return (invoke "byte_r" (i32.const 65534) (i32.const 0)) (i32.const 120))
(assert_trap (invoke "byte_r" (i32.const 65535) (i32.const 1)) "out of bounds memory access")
(assert_trap (invoke "byte_r" (i32.const 0) (i32.const -1)) "out of bounds memory access")
;; byte 0xc8 = 200: not < -1 signed, < -1 unsigned, != 456, > 199 signed, not <= 97
(assert_return (invoke "cmps_r" (i32.const 6) (i32.const 0)) (i32.const 14))
;; byte 'a' = 97: not < -1 signed, < -1 unsigned, != 456, not > 199, <= 97
(assert_return (invoke "cmps_r" (i32.const 0) (i32.const 1)) (i32.const 22))
;; byte 'b' = 98: only the unsigned < -1 and != 456
(assert_return (invoke "cmps_r" (i32.const 1) (i32.const 1)) (i32.const 6))

(assert_return (invoke "quote_k" (i32.const 0)) (i32.const 1))
(assert_return (invoke "quote_k" (i32.const -2)) (i32.const 1))
(assert_return (invoke "quote_k" (i32.const 4)) (i32.const 65533))
(assert_trap (invoke "quote_k" (i32.const 65534)) "out of bounds memory access")
(assert_return (invoke "byte_k" (i32.const 0)) (i32.const 34))
(assert_return (invoke "byte_k" (i32.const 3)) (i32.const -200))
(assert_return (invoke "byte_k" (i32.const 4)) (i32.const -255))
(assert_return (invoke "byte_k" (i32.const 1)) (i32.const 99))
(assert_return (invoke "byte_k" (i32.const -3)) (i32.const 1))
(assert_trap (invoke "byte_k" (i32.const 65533)) "out of bounds memory access")
(assert_return (invoke "is_a" (i32.const 1)) (i32.const 1))
(assert_return (invoke "is_a" (i32.const 2)) (i32.const 0))
(assert_trap (invoke "is_a" (i32.const 65536)) "out of bounds memory access")
(assert_return (invoke "is_a_off" (i32.const 0)) (i32.const 1))
(assert_return (invoke "is_a_off" (i32.const 1)) (i32.const 0))
(assert_trap (invoke "is_a_off" (i32.const -1)) "out of bounds memory access")
