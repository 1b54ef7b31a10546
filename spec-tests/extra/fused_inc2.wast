;; tollgate's own script, run like the spec suite on every tier: paired constant increments before a loop back-edge, i32 and i64.
;; Expected values follow from the spec's semantics of the plain instructions (checked by hand).
(module
  (func (export "f") (param $n i32) (result i64)
    (local $i i32) (local $c i64) (local $j i32)
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 3)))
        (local.set $c (i64.add (local.get $c) (i64.const -2)))
        (br $top)))
    (i64.add (local.get $c) (i64.extend_i32_u (local.get $i))))
  (func (export "g") (param $n i32) (result i32)
    (local $i i32) (local $j i32)
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $j (i32.add (local.get $j) (i32.const -1)))
        (br $top)))
    (i32.add (local.get $j) (i32.mul (local.get $i) (i32.const 1000))))
)
(assert_return (invoke "f" (i32.const 10)) (i64.const 4))
(assert_return (invoke "g" (i32.const 5)) (i32.const 4995))
