;; tollgate's own script, run like the spec suite on every tier: memory loops the interpreter runs as fewer instructions: a store followed by `p += n` on its own address (the store bumps it), a byte copy whose destination `to + i` the copy computes itself (writing the sum to its local as the add would), and a bounds check joined to the byte read it guards (which must not happen when the branch leaves).
;; Expected values follow from the spec's semantics of the plain instructions (checked by hand).
(module
  (memory 1)
  (data (i32.const 1024) "abcdefghijklmnop")
  ;; to[i] = from[i] two bytes an iteration, `to + i` kept in $p for the second byte
  (func (export "copy_bytes") (param $shift i32) (param $n i32) (result i64)
    (local $i i32) (local $p i32) (local $to i32)
    (local.set $to (i32.add (i32.const 2048) (local.get $shift)))
    (loop $l
      (i32.store8 (local.tee $p (i32.add (local.get $i) (local.get $to)))
                  (i32.load8_u offset=1024 (local.get $i)))
      (i32.store8 offset=1 (local.get $p) (i32.load8_u offset=1025 (local.get $i)))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 2))) (local.get $n))))
    (i64.load (i32.add (i32.const 2048) (local.get $shift))))
  ;; *p = 1 (constant) or *p = v (a local), then p += step, count times; returns p
  (func (export "fill8") (param $p i32) (param $step i32) (param $count i32) (result i32)
    (loop $l
      (i32.store8 (local.get $p) (i32.const 1))
      (local.set $p (i32.add (local.get $p) (local.get $step)))
      (br_if $l (local.tee $count (i32.sub (local.get $count) (i32.const 1)))))
    (local.get $p))
  (func (export "fill32") (param $p i32) (param $step i32) (param $count i32) (param $v i32) (result i32)
    (loop $l
      (i32.store offset=0 (local.get $p) (local.get $v))
      (local.set $p (i32.add (local.get $p) (local.get $step)))
      (br_if $l (local.tee $count (i32.sub (local.get $count) (i32.const 1)))))
    (local.get $p))
  (func (export "sum8") (param $p i32) (param $len i32) (result i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $l (local.tee $len (i32.sub (local.get $len) (i32.const 1)))))
    (local.get $s))
  ;; while (i < len && m[i + 1024] != 'k') ++i
  (func (export "scan") (param $i i32) (param $len i32) (result i32) (local $c i32)
    (block $out
      (loop $l
        (br_if $out (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $c (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
        (br_if $out (i32.eq (local.get $c) (i32.const 0x6b)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $i))
)
(assert_return (invoke "copy_bytes" (i32.const 0) (i32.const 8)) (i64.const 0x6867666564636261))
(assert_return (invoke "copy_bytes" (i32.const 3) (i32.const 8)) (i64.const 0x6867666564636261))
(assert_return (invoke "copy_bytes" (i32.const 21) (i32.const 2)) (i64.const 0x6261))
(assert_trap (invoke "copy_bytes" (i32.const 63487) (i32.const 2)) "out of bounds memory access")
(assert_return (invoke "fill8" (i32.const 4096) (i32.const 3) (i32.const 5)) (i32.const 4111))
(assert_return (invoke "sum8" (i32.const 4096) (i32.const 16)) (i32.const 5))
(assert_return (invoke "fill8" (i32.const 4200) (i32.const 0) (i32.const 4)) (i32.const 4200))
(assert_return (invoke "sum8" (i32.const 4200) (i32.const 1)) (i32.const 1))
(assert_return (invoke "fill32" (i32.const 8192) (i32.const 5) (i32.const 3) (i32.const 0x01020304)) (i32.const 8207))
(assert_return (invoke "sum8" (i32.const 8192) (i32.const 16)) (i32.const 30))
(assert_trap (invoke "fill32" (i32.const 65530) (i32.const 4) (i32.const 3) (i32.const 7)) "out of bounds memory access")
(assert_return (invoke "sum8" (i32.const 65530) (i32.const 4)) (i32.const 7))
;; the copy that trapped above stored its first byte, 'a', at 65535 before the second failed
(assert_return (invoke "sum8" (i32.const 65535) (i32.const 1)) (i32.const 97))
(assert_return (invoke "scan" (i32.const 0) (i32.const 100)) (i32.const 10))
(assert_return (invoke "scan" (i32.const 0) (i32.const 5)) (i32.const 5))
(assert_return (invoke "scan" (i32.const 64600) (i32.const 64600)) (i32.const 64600))
(assert_return (invoke "scan" (i32.const 64600) (i32.const 3)) (i32.const 64600))
(assert_trap (invoke "scan" (i32.const 64600) (i32.const 70000)) "out of bounds memory access")

;; Eight copies closing a loop (the rotation of SHA-2's working variables) run as one instruction
;; with the back-edge (x_copy8_jmp_poll); the copies happen in order, each reading what the one
;; before it left. Expected values from a Python model of the loop.
(module
  (func (export "rot8") (param $n i32) (result i64)
    (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local $e i64) (local $f i64) (local $g i64) (local $h i64) (local $t i64)
    (local.set $a (i64.const 1)) (local.set $b (i64.const 2)) (local.set $c (i64.const 3))
    (local.set $d (i64.const 4)) (local.set $e (i64.const 5)) (local.set $f (i64.const 6))
    (local.set $g (i64.const 7)) (local.set $h (i64.const 8))
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $t (i64.add (i64.mul (local.get $a) (i64.const 3)) (local.get $h)))
        (local.set $h (local.get $g)) (local.set $g (local.get $f)) (local.set $f (local.get $e))
        (local.set $e (local.get $d)) (local.set $d (local.get $c)) (local.set $c (local.get $b))
        (local.set $b (local.get $a)) (local.set $a (local.get $t))
        (br $l)))
    (i64.add (i64.mul (local.get $a) (i64.const 1000003))
      (i64.add (i64.mul (local.get $b) (i64.const 10007))
        (i64.add (i64.mul (local.get $c) (i64.const 1009))
          (i64.add (i64.mul (local.get $d) (i64.const 101))
            (i64.add (i64.mul (local.get $e) (i64.const 13))
              (i64.add (i64.mul (local.get $f) (i64.const 7))
                (i64.add (i64.mul (local.get $g) (i64.const 3)) (local.get $h)))))))))

  ;; A byte range check, `(c - 48) & 255 > 9`, and the branch on it (x_br_gt_u_add_and): the
  ;; digit, or -1; the masked value stays in $v.
  (func (export "digit") (param $c i32) (result i32) (local $v i32)
    (block $no
      (br_if $no (i32.gt_u (local.tee $v (i32.and (i32.add (local.get $c) (i32.const -48)) (i32.const 255)))
                           (i32.const 9)))
      (return (local.get $v)))
    (i32.sub (i32.const -1000) (local.get $v)))
  ;; A set-membership bit test, `(1 << c) & {9, 10, 13}`, and the branch when it is 0
  ;; (x_br_unless_bit): the bit, or -1. The shift count is c mod 32.
  (func (export "in_set") (param $c i32) (result i32) (local $v i32)
    (if (local.tee $v (i32.and (i32.shl (i32.const 1) (local.get $c)) (i32.const 0x2600)))
      (then (return (local.get $v))))
    (i32.const -1))
  ;; a mask too wide to join the branch: the same result from two instructions
  (func (export "wide") (param $c i32) (result i32)
    (block $no
      (br_if $no (i32.gt_u (i32.and (i32.add (local.get $c) (i32.const -48)) (i32.const 0x1ffff))
                           (i32.const 9)))
      (return (i32.const 1)))
    (i32.const 0))
)
(assert_return (invoke "rot8" (i32.const 0)) (i64.const 1023584))
(assert_return (invoke "rot8" (i32.const 1)) (i64.const 11012473))
(assert_return (invoke "rot8" (i32.const 5)) (i64.const 1156967473))
(assert_return (invoke "rot8" (i32.const 8)) (i64.const 31272661814))
(assert_return (invoke "rot8" (i32.const 100)) (i64.const 6823671704107200760))
(assert_return (invoke "digit" (i32.const 48)) (i32.const 0))
(assert_return (invoke "digit" (i32.const 57)) (i32.const 9))
;; ':' and '/': (58 - 48) = 10 and (47 - 48) & 255 = 255
(assert_return (invoke "digit" (i32.const 58)) (i32.const -1010))
(assert_return (invoke "digit" (i32.const 47)) (i32.const -1255))
;; the mask applies before the compare: 304 - 48 = 256, masked to 0
(assert_return (invoke "digit" (i32.const 304)) (i32.const 0))
(assert_return (invoke "digit" (i32.const 313)) (i32.const 9))
;; the add wraps: -1 - 48 = 0xffffffcf, masked to 207
(assert_return (invoke "digit" (i32.const -1)) (i32.const -1207))
(assert_return (invoke "wide" (i32.const 304)) (i32.const 0))
(assert_return (invoke "wide" (i32.const 53)) (i32.const 1))
(assert_return (invoke "in_set" (i32.const 9)) (i32.const 512))
(assert_return (invoke "in_set" (i32.const 10)) (i32.const 1024))
(assert_return (invoke "in_set" (i32.const 13)) (i32.const 8192))
(assert_return (invoke "in_set" (i32.const 11)) (i32.const -1))
(assert_return (invoke "in_set" (i32.const 0)) (i32.const -1))
(assert_return (invoke "in_set" (i32.const 41)) (i32.const 512))
(assert_return (invoke "in_set" (i32.const -23)) (i32.const 512))
(assert_return (invoke "in_set" (i32.const 32)) (i32.const -1))
