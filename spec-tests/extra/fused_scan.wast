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

;; A byte read tested by br_if or br_unless (compare with 0), and an i32.wrap_i64 feeding a load's
;; address, which the interpreter drops when only the load reads it (a load uses the low 32 bits
;; of its address). Memory: 0 at 16 and 17, then 5, 0, 128, 255 at 18 .. 21; 7 at 1040.
(module
  (memory 1)
  (data (i32.const 16) "\00\00\05\00\80\ff")
  (data (i32.const 1040) "\07")
  (data (i32.const 65535) "\09")
  ;; index of the first nonzero byte at or after i (br_if on the byte)
  (func (export "nonzero") (param $i i32) (result i32)
    (loop $l
      (if (i32.eqz (i32.load8_u (local.get $i)))
        (then (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l))))
    (local.get $i))
  ;; index of the first zero byte at or after i (br_unless on the byte)
  (func (export "zero") (param $i i32) (result i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (i32.load8_u offset=0 (i32.add (local.get $i) (i32.const 0)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
  ;; the first zero byte after i, with the read as m[i + 16]: returns i
  (func (export "zero_k") (param $i i32) (result i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $i) (i32.const 16)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
  ;; m[wrap(p)] and m[wrap(p) + 1024] (as the sieve's `composite[j]` with a 64-bit j)
  (func (export "at_wrap") (param $p i64) (result i32)
    (i32.load8_u (i32.wrap_i64 (local.get $p))))
  (func (export "at_wrap_k") (param $p i64) (result i32)
    (i32.load8_u (i32.add (i32.wrap_i64 (local.get $p)) (i32.const 1024))))
  (func (export "at_wrap_off") (param $p i64) (result i32)
    (i32.load8_u offset=1024 (i32.wrap_i64 (local.get $p))))
  ;; the wrapped value is also kept: the wrap stays
  (func (export "wrap_kept") (param $p i64) (result i32) (local $w i32)
    (i32.add (i32.load8_u (local.tee $w (i32.wrap_i64 (local.get $p)))) (local.get $w)))
  ;; branch on m[wrap(p) + 1024] != 0
  (func (export "wrap_branch") (param $p i64) (result i32)
    (block $nz
      (br_if $nz (i32.load8_u (i32.add (i32.wrap_i64 (local.get $p)) (i32.const 1024))))
      (return (i32.const 0)))
    (i32.const 1))
)
(assert_return (invoke "nonzero" (i32.const 16)) (i32.const 18))
(assert_return (invoke "nonzero" (i32.const 19)) (i32.const 20))
(assert_return (invoke "nonzero" (i32.const 21)) (i32.const 21))
(assert_return (invoke "nonzero" (i32.const 22)) (i32.const 1040))
(assert_return (invoke "nonzero" (i32.const 1041)) (i32.const 65535))
(assert_trap (invoke "nonzero" (i32.const 65536)) "out of bounds memory access")
(assert_return (invoke "zero" (i32.const 18)) (i32.const 19))
(assert_return (invoke "zero" (i32.const 20)) (i32.const 22))
(assert_return (invoke "zero" (i32.const 16)) (i32.const 16))
(assert_trap (invoke "zero" (i32.const 65535)) "out of bounds memory access")
(assert_return (invoke "zero_k" (i32.const 2)) (i32.const 3))
(assert_return (invoke "zero_k" (i32.const 4)) (i32.const 6))
(assert_trap (invoke "zero_k" (i32.const 65519)) "out of bounds memory access")
(assert_return (invoke "zero_k" (i32.const -16)) (i32.const -16))
(assert_return (invoke "at_wrap" (i64.const 0x100000012)) (i32.const 5))
(assert_return (invoke "at_wrap" (i64.const 0xFFFFFFFF00000014)) (i32.const 128))
(assert_trap (invoke "at_wrap" (i64.const 0x10000)) "out of bounds memory access")
(assert_return (invoke "at_wrap_k" (i64.const 0x700000010)) (i32.const 7))
(assert_return (invoke "at_wrap_k" (i64.const 0x1FFFFFFF0)) (i32.const 0))
(assert_return (invoke "at_wrap_k" (i64.const 0x1FFFFFC12)) (i32.const 5))
(assert_return (invoke "at_wrap_off" (i64.const 0x100000010)) (i32.const 7))
(assert_trap (invoke "at_wrap_off" (i64.const 0xFFFFFFF0)) "out of bounds memory access")
(assert_return (invoke "wrap_kept" (i64.const 0x300000013)) (i32.const 19))
(assert_return (invoke "wrap_kept" (i64.const 0x300000012)) (i32.const 23))
(assert_return (invoke "wrap_branch" (i64.const 0x900000010)) (i32.const 1))
(assert_return (invoke "wrap_branch" (i64.const 0x900000011)) (i32.const 0))
(assert_return (invoke "wrap_branch" (i64.const 0xFFFFFC14)) (i32.const 1))
(assert_return (invoke "wrap_branch" (i64.const 0xFFFFFC13)) (i32.const 0))
