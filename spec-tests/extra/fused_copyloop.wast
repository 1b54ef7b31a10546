;; tollgate's own script, run like the spec suite on every tier: loops that copy memory, which the
;; interpreter runs as one block copy when it can (TG_COPY_LOOP). Every expected value comes from
;; a Python model of the plain instructions (byte or word loads and stores, one iteration at a
;; time): overlap in both directions, the end of memory, addresses that wrap around 4 GiB, bounds
;; that are never met, strided copies, and copies over 1 MiB.

(module
  (memory 1)
  ;; mem[k] = k * 7 + 3 (low byte) over the whole page
  (func (export "init")
    (local $k i32)
    (loop $l
      (i32.store8 (local.get $k) (i32.add (i32.mul (local.get $k) (i32.const 7)) (i32.const 3)))
      (br_if $l (i32.ne (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const 65536)))))
  ;; h = h * 31 + mem[a] over [lo, hi)
  (func (export "hash") (param $lo i32) (param $hi i32) (result i32)
    (local $h i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31)) (i32.load8_u (local.get $lo))))
        (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
        (br $l)))
    (local.get $h))
  (func (export "get") (param $a i32) (result i32) (i32.load8_u (local.get $a)))
  ;; returns the last destination address << 32 | the final index
  (func (export "x4ne") (param $to i32) (param $i i32) (param $n i32) (result i64)
    (local $t i32)
    (loop $l
      (i32.store8 (local.tee $t (i32.add (local.get $i) (local.get $to))) (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
      (i32.store8 (i32.add (local.get $t) (i32.const 1)) (i32.load8_u (i32.add (local.get $i) (i32.const 1025))))
      (i32.store8 (i32.add (local.get $t) (i32.const 2)) (i32.load8_u (i32.add (local.get $i) (i32.const 1026))))
      (i32.store8 (i32.add (local.get $t) (i32.const 3)) (i32.load8_u (i32.add (local.get $i) (i32.const 1027))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $n))))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $t)) (i64.const 32)) (i64.extend_i32_u (local.get $i))))
  ;; returns the last destination address << 32 | the final index
  (func (export "x4lt") (param $to i32) (param $i i32) (param $n i32) (result i64)
    (local $t i32)
    (loop $l
      (i32.store8 (local.tee $t (i32.add (local.get $i) (local.get $to))) (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
      (i32.store8 (i32.add (local.get $t) (i32.const 1)) (i32.load8_u (i32.add (local.get $i) (i32.const 1025))))
      (i32.store8 (i32.add (local.get $t) (i32.const 2)) (i32.load8_u (i32.add (local.get $i) (i32.const 1026))))
      (i32.store8 (i32.add (local.get $t) (i32.const 3)) (i32.load8_u (i32.add (local.get $i) (i32.const 1027))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $n))))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $t)) (i64.const 32)) (i64.extend_i32_u (local.get $i))))
  ;; returns the last destination address << 32 | the final index
  (func (export "x4ne256") (param $to i32) (param $i i32) (result i64)
    (local $t i32)
    (loop $l
      (i32.store8 (local.tee $t (i32.add (local.get $i) (local.get $to))) (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
      (i32.store8 (i32.add (local.get $t) (i32.const 1)) (i32.load8_u (i32.add (local.get $i) (i32.const 1025))))
      (i32.store8 (i32.add (local.get $t) (i32.const 2)) (i32.load8_u (i32.add (local.get $i) (i32.const 1026))))
      (i32.store8 (i32.add (local.get $t) (i32.const 3)) (i32.load8_u (i32.add (local.get $i) (i32.const 1027))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 256))))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $t)) (i64.const 32)) (i64.extend_i32_u (local.get $i))))
  ;; returns the last destination address << 32 | the final index
  (func (export "x4lt258") (param $to i32) (param $i i32) (result i64)
    (local $t i32)
    (loop $l
      (i32.store8 (local.tee $t (i32.add (local.get $i) (local.get $to))) (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
      (i32.store8 (i32.add (local.get $t) (i32.const 1)) (i32.load8_u (i32.add (local.get $i) (i32.const 1025))))
      (i32.store8 (i32.add (local.get $t) (i32.const 2)) (i32.load8_u (i32.add (local.get $i) (i32.const 1026))))
      (i32.store8 (i32.add (local.get $t) (i32.const 3)) (i32.load8_u (i32.add (local.get $i) (i32.const 1027))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 258))))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $t)) (i64.const 32)) (i64.extend_i32_u (local.get $i))))
  ;; returns the last destination address << 32 | the final index
  (func (export "x3ne") (param $to i32) (param $i i32) (param $n i32) (result i64)
    (local $t i32)
    (loop $l
      (i32.store8 (local.tee $t (i32.add (local.get $i) (local.get $to))) (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
      (i32.store8 (i32.add (local.get $t) (i32.const 1)) (i32.load8_u (i32.add (local.get $i) (i32.const 1025))))
      (i32.store8 (i32.add (local.get $t) (i32.const 2)) (i32.load8_u (i32.add (local.get $i) (i32.const 1026))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 3))) (local.get $n))))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $t)) (i64.const 32)) (i64.extend_i32_u (local.get $i))))
  ;; returns the last destination address << 32 | the final index
  (func (export "x2lt") (param $to i32) (param $i i32) (param $n i32) (result i64)
    (local $t i32)
    (loop $l
      (i32.store8 (local.tee $t (i32.add (local.get $i) (local.get $to))) (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
      (i32.store8 (i32.add (local.get $t) (i32.const 1)) (i32.load8_u (i32.add (local.get $i) (i32.const 1025))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 2))) (local.get $n))))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $t)) (i64.const 32)) (i64.extend_i32_u (local.get $i))))
  ;; returns the final index
  (func (export "b1ne") (param $i i32) (param $n i32) (result i32)
    (loop $l
      (i32.store8 (i32.add (local.get $i) (i32.const 4096)) (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $i))
  ;; returns the final index
  (func (export "b1wrap") (param $i i32) (param $n i32) (result i32)
    (loop $l
      (i32.store8 (i32.add (local.get $i) (i32.const 28672)) (i32.load8_u (i32.add (local.get $i) (i32.const -1024))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $i))
  ;; returns the final index
  (func (export "w4over") (param $i i32) (param $n i32) (result i32)
    (loop $l
      (i32.store (i32.add (local.get $i) (i32.const 1026)) (i32.load (i32.add (local.get $i) (i32.const 1024))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $n))))
    (local.get $i))
  ;; returns the final index
  (func (export "w4back") (param $i i32) (param $n i32) (result i32)
    (loop $l
      (i32.store (i32.add (local.get $i) (i32.const 1022)) (i32.load (i32.add (local.get $i) (i32.const 1024))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $n))))
    (local.get $i))
  ;; returns the final index
  (func (export "w4off") (param $i i32) (param $n i32) (result i32)
    (loop $l
      (i32.store offset=100 (i32.add (local.get $i) (i32.const 8192)) (i32.load offset=4 (i32.add (local.get $i) (i32.const 1024))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $n))))
    (local.get $i))
  ;; returns the final index
  (func (export "w8lt") (param $i i32) (param $n i32) (result i32)
    (loop $l
      (i64.store (i32.add (local.get $i) (i32.const 8192)) (i64.load (i32.add (local.get $i) (i32.const 1024))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 8))) (local.get $n))))
    (local.get $i))
  ;; returns the final index
  (func (export "w2ne") (param $i i32) (param $n i32) (result i32)
    (loop $l
      (i32.store16 (i32.add (local.get $i) (i32.const 8192)) (i32.load16_u (i32.add (local.get $i) (i32.const 1024))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 2))) (local.get $n))))
    (local.get $i))
  ;; returns the final index
  (func (export "w4stride8") (param $i i32) (param $n i32) (result i32)
    (loop $l
      (i32.store (i32.add (local.get $i) (i32.const 8192)) (i32.load (i32.add (local.get $i) (i32.const 1024))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 8))) (local.get $n))))
    (local.get $i))
)

;; apart: 256 bytes from 1024 to 4096
(invoke "init")
(assert_return (invoke "x4ne" (i32.const 4096) (i32.const 0) (i32.const 256)) (i64.const 18674517803264))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 4096) (i32.const 4352)) (i32.const -262213760))
(assert_return (invoke "get" (i32.const 4095)) (i32.const 252))
(assert_return (invoke "get" (i32.const 4096)) (i32.const 3))
(assert_return (invoke "get" (i32.const 4351)) (i32.const 252))
(assert_return (invoke "get" (i32.const 4352)) (i32.const 3))
;; the same with the index from 16
(invoke "init")
(assert_return (invoke "x4ne" (i32.const 4096) (i32.const 16) (i32.const 256)) (i64.const 18674517803264))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 4096) (i32.const 4352)) (i32.const -262213760))
(assert_return (invoke "get" (i32.const 4111)) (i32.const 108))
(assert_return (invoke "get" (i32.const 4112)) (i32.const 115))
;; destination one byte into the source: each byte reads one just written
(invoke "init")
(assert_return (invoke "x4ne" (i32.const 1025) (i32.const 0) (i32.const 256)) (i64.const 5484673237248))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const 562479232))
(assert_return (invoke "hash" (i32.const 1024) (i32.const 1300)) (i32.const -1686476794))
(assert_return (invoke "get" (i32.const 1025)) (i32.const 3))
(assert_return (invoke "get" (i32.const 1100)) (i32.const 3))
(assert_return (invoke "get" (i32.const 1280)) (i32.const 3))
(assert_return (invoke "get" (i32.const 1281)) (i32.const 10))
;; destination three bytes into the source
(invoke "init")
(assert_return (invoke "x4ne" (i32.const 1027) (i32.const 0) (i32.const 256)) (i64.const 5493263171840))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -1005780761))
(assert_return (invoke "hash" (i32.const 1024) (i32.const 1300)) (i32.const 1626672877))
;; destination four bytes into the source (one iteration apart)
(invoke "init")
(assert_return (invoke "x4ne" (i32.const 1028) (i32.const 0) (i32.const 256)) (i64.const 5497558139136))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const 733783040))
(assert_return (invoke "hash" (i32.const 1024) (i32.const 1300)) (i32.const 2116782982))
;; destination one byte before the source
(invoke "init")
(assert_return (invoke "x4ne" (i32.const 1023) (i32.const 0) (i32.const 256)) (i64.const 5476083302656))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -356052736))
(assert_return (invoke "hash" (i32.const 1020) (i32.const 1300)) (i32.const 783901524))
;; destination is the source
(invoke "init")
(assert_return (invoke "x4ne" (i32.const 1024) (i32.const 0) (i32.const 256)) (i64.const 5480378269952))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
;; destination ends at the end of memory
(invoke "init")
(assert_return (invoke "x4ne" (i32.const 65280) (i32.const 0) (i32.const 256)) (i64.const 281457796841728))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 65280) (i32.const 65536)) (i32.const -262213760))
;; destination runs off the end after 128 bytes: trap, the 128 written
(invoke "init")
(assert_trap (invoke "x4ne" (i32.const 65408) (i32.const 0) (i32.const 256)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const 1425244160))
(assert_return (invoke "hash" (i32.const 65408) (i32.const 65536)) (i32.const 1724872640))
(assert_return (invoke "get" (i32.const 65407)) (i32.const 124))
(assert_return (invoke "get" (i32.const 65408)) (i32.const 3))
(assert_return (invoke "get" (i32.const 65535)) (i32.const 124))
;; destination runs off the end in the middle of an iteration
(invoke "init")
(assert_trap (invoke "x4ne" (i32.const 65410) (i32.const 0) (i32.const 256)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const 1908044224))
(assert_return (invoke "hash" (i32.const 65410) (i32.const 65536)) (i32.const 1771625305))
(assert_return (invoke "get" (i32.const 65534)) (i32.const 103))
(assert_return (invoke "get" (i32.const 65535)) (i32.const 110))
;; source runs off the end: the bytes before are copied
(invoke "init")
(assert_trap (invoke "x4ne" (i32.const 100) (i32.const 0) (i32.const 64520)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const 293044224))
(assert_return (invoke "hash" (i32.const 100) (i32.const 64620)) (i32.const -500696676))
(assert_return (invoke "get" (i32.const 64611)) (i32.const 252))
(assert_return (invoke "get" (i32.const 64612)) (i32.const 191))
;; the index never equals n (not a multiple of 4): it runs until the source leaves memory
(invoke "init")
(assert_trap (invoke "x4ne" (i32.const 4096) (i32.const 0) (i32.const 258)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 4096) (i32.const 65536)) (i32.const 1904248832))
;; start past n with !=: it wraps only after the source leaves memory
(invoke "init")
(assert_trap (invoke "x4ne" (i32.const 30000) (i32.const 300) (i32.const 256)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const 1831864320))
;; the destination address wraps around 4 GiB (to = 2^32 - 16, i from 32)
(invoke "init")
(assert_return (invoke "x4ne" (i32.const -16) (i32.const 32) (i32.const 160)) (i64.const 601295421600))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const 686497792))
(assert_return (invoke "hash" (i32.const 0) (i32.const 200)) (i32.const 393223484))
(assert_return (invoke "get" (i32.const 15)) (i32.const 108))
(assert_return (invoke "get" (i32.const 16)) (i32.const 227))
(assert_return (invoke "get" (i32.const 143)) (i32.const 92))
(assert_return (invoke "get" (i32.const 144)) (i32.const 243))
;; the destination wraps within the loop: the first iterations are out of bounds
(invoke "init")
(assert_trap (invoke "x4ne" (i32.const -8) (i32.const 0) (i32.const 64)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "get" (i32.const 0)) (i32.const 3))
;; i < n, n a multiple of 4
(invoke "init")
(assert_return (invoke "x4lt" (i32.const 4096) (i32.const 0) (i32.const 256)) (i64.const 18674517803264))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 4096) (i32.const 4352)) (i32.const -262213760))
;; i < n, n not a multiple of 4: 260 bytes
(invoke "init")
(assert_return (invoke "x4lt" (i32.const 4096) (i32.const 0) (i32.const 258)) (i64.const 18691697672452))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 4096) (i32.const 4360)) (i32.const 524060956))
(assert_return (invoke "get" (i32.const 4355)) (i32.const 24))
(assert_return (invoke "get" (i32.const 4356)) (i32.const 31))
(assert_return (invoke "get" (i32.const 4357)) (i32.const 38))
(assert_return (invoke "get" (i32.const 4359)) (i32.const 52))
(assert_return (invoke "get" (i32.const 4360)) (i32.const 59))
;; i < n with i already past n: one iteration
(invoke "init")
(assert_return (invoke "x4lt" (i32.const 4096) (i32.const 300) (i32.const 256)) (i64.const 18880676233520))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "get" (i32.const 4396)) (i32.const 55))
(assert_return (invoke "get" (i32.const 4399)) (i32.const 76))
(assert_return (invoke "get" (i32.const 4400)) (i32.const 83))
;; i < n where the index would wrap past 2^32: the source leaves memory first
(invoke "init")
(assert_trap (invoke "x4lt" (i32.const 4096) (i32.const 0) (i32.const -2)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
;; constant n = 256 with !=
(invoke "init")
(assert_return (invoke "x4ne256" (i32.const 4096) (i32.const 8)) (i64.const 18674517803264))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 4096) (i32.const 4352)) (i32.const -262213760))
;; constant n = 258 with <
(invoke "init")
(assert_return (invoke "x4lt258" (i32.const 4096) (i32.const 8)) (i64.const 18691697672452))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 4096) (i32.const 4360)) (i32.const 524060956))
;; three bytes an iteration, 300 bytes
(invoke "init")
(assert_return (invoke "x3ne" (i32.const 4096) (i32.const 0) (i32.const 300)) (i64.const 18867791331628))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 4096) (i32.const 4396)) (i32.const 2123117402))
(assert_return (invoke "get" (i32.const 4395)) (i32.const 48))
(assert_return (invoke "get" (i32.const 4396)) (i32.const 55))
;; three bytes, destination two bytes into the source
(invoke "init")
(assert_return (invoke "x3ne" (i32.const 1026) (i32.const 0) (i32.const 300)) (i64.const 5682241732908))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -41108928))
(assert_return (invoke "hash" (i32.const 1024) (i32.const 1330)) (i32.const -240536881))
;; two bytes an iteration, i < 301
(invoke "init")
(assert_return (invoke "x2lt" (i32.const 4096) (i32.const 1) (i32.const 301)) (i64.const 18876381266221))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 4096) (i32.const 4400)) (i32.const 742975528))
;; one byte an iteration, 4096 + i <- 1024 + i, 1000 bytes
(invoke "init")
(assert_return (invoke "b1ne" (i32.const 0) (i32.const 1000)) (i32.const 1000))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 4096) (i32.const 5096)) (i32.const 656830764))
(assert_return (invoke "get" (i32.const 5095)) (i32.const 84))
(assert_return (invoke "get" (i32.const 5096)) (i32.const 91))
;; one byte, running off the end of memory
(invoke "init")
(assert_trap (invoke "b1ne" (i32.const 60000) (i32.const 62000)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 64096) (i32.const 65536)) (i32.const -830526544))
;; one byte, the source offset wraps: from i - 1024 (i from 2048)
(invoke "init")
(assert_return (invoke "b1wrap" (i32.const 2048) (i32.const 3048)) (i32.const 3048))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 30720) (i32.const 31720)) (i32.const 656830764))
;; one byte, the source offset wraps out of bounds first (i from 0)
(invoke "init")
(assert_trap (invoke "b1wrap" (i32.const 0) (i32.const 100)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
;; words, destination two bytes into the source: each word reads a half just written
(invoke "init")
(assert_return (invoke "w4over" (i32.const 0) (i32.const 400)) (i32.const 400))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -1034291520))
(assert_return (invoke "hash" (i32.const 1024) (i32.const 1430)) (i32.const -64147859))
;; words, destination two bytes before the source
(invoke "init")
(assert_return (invoke "w4back" (i32.const 0) (i32.const 400)) (i32.const 400))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -2046870016))
(assert_return (invoke "hash" (i32.const 1020) (i32.const 1430)) (i32.const 2001147131))
;; words with memarg offsets (load offset 4, store offset 100), i < 402
(invoke "init")
(assert_return (invoke "w4off" (i32.const 0) (i32.const 402)) (i32.const 404))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -1597179904))
(assert_return (invoke "hash" (i32.const 8292) (i32.const 8700)) (i32.const 2039055892))
;; words with offsets, the store runs off the end
(invoke "init")
(assert_trap (invoke "w4off" (i32.const 57000) (i32.const 58000)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const 2075146240))
(assert_return (invoke "hash" (i32.const 65000) (i32.const 65536)) (i32.const 427075540))
;; i64 words, i < 1001
(invoke "init")
(assert_return (invoke "w8lt" (i32.const 0) (i32.const 1001)) (i32.const 1008))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 8192) (i32.const 9200)) (i32.const 950356680))
(assert_return (invoke "get" (i32.const 9199)) (i32.const 140))
(assert_return (invoke "get" (i32.const 9200)) (i32.const 147))
;; i16 words, 600 bytes
(invoke "init")
(assert_return (invoke "w2ne" (i32.const 0) (i32.const 600)) (i32.const 600))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 8192) (i32.const 8800)) (i32.const 330600528))
;; i32 words every 8 bytes: a strided copy, not a block copy
(invoke "init")
(assert_return (invoke "w4stride8" (i32.const 0) (i32.const 800)) (i32.const 800))
(assert_return (invoke "hash" (i32.const 0) (i32.const 65536)) (i32.const -688947200))
(assert_return (invoke "hash" (i32.const 8192) (i32.const 9000)) (i32.const -324768372))
(assert_return (invoke "get" (i32.const 8196)) (i32.const 31))
(assert_return (invoke "get" (i32.const 8199)) (i32.const 52))
(assert_return (invoke "get" (i32.const 8200)) (i32.const 59))

(module
  (memory 48)
  (func (export "init")
    (local $k i32)
    (loop $l
      (i32.store8 (local.get $k) (i32.add (i32.mul (local.get $k) (i32.const 7)) (i32.const 3)))
      (br_if $l (i32.ne (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const 3145728)))))
  (func (export "hash") (param $lo i32) (param $hi i32) (result i32)
    (local $h i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31)) (i32.load8_u (local.get $lo))))
        (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
        (br $l)))
    (local.get $h))
  (func (export "get") (param $a i32) (result i32) (i32.load8_u (local.get $a)))
  ;; returns the last destination address << 32 | the final index
  (func (export "x4ne") (param $to i32) (param $i i32) (param $n i32) (result i64)
    (local $t i32)
    (loop $l
      (i32.store8 (local.tee $t (i32.add (local.get $i) (local.get $to))) (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
      (i32.store8 (i32.add (local.get $t) (i32.const 1)) (i32.load8_u (i32.add (local.get $i) (i32.const 1025))))
      (i32.store8 (i32.add (local.get $t) (i32.const 2)) (i32.load8_u (i32.add (local.get $i) (i32.const 1026))))
      (i32.store8 (i32.add (local.get $t) (i32.const 3)) (i32.load8_u (i32.add (local.get $i) (i32.const 1027))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $n))))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $t)) (i64.const 32)) (i64.extend_i32_u (local.get $i))))
  ;; returns the last destination address << 32 | the final index
  (func (export "x4lt") (param $to i32) (param $i i32) (param $n i32) (result i64)
    (local $t i32)
    (loop $l
      (i32.store8 (local.tee $t (i32.add (local.get $i) (local.get $to))) (i32.load8_u (i32.add (local.get $i) (i32.const 1024))))
      (i32.store8 (i32.add (local.get $t) (i32.const 1)) (i32.load8_u (i32.add (local.get $i) (i32.const 1025))))
      (i32.store8 (i32.add (local.get $t) (i32.const 2)) (i32.load8_u (i32.add (local.get $i) (i32.const 1026))))
      (i32.store8 (i32.add (local.get $t) (i32.const 3)) (i32.load8_u (i32.add (local.get $i) (i32.const 1027))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $n))))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $t)) (i64.const 32)) (i64.extend_i32_u (local.get $i))))
)

;; 2 MiB + 40 bytes from 1024 to 2 MiB + 2048 (three chunks of at most 1 MiB)
(invoke "init")
(assert_trap (invoke "x4ne" (i32.const 2099200) (i32.const 0) (i32.const 2097192)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 3145728)) (i32.const 1290272768))
(assert_return (invoke "get" (i32.const 2099199)) (i32.const 252))
(assert_return (invoke "get" (i32.const 2099200)) (i32.const 3))
(assert_return (invoke "get" (i32.const 2099239)) (i32.const 20))
;; 1 MiB + 6 bytes with i < n
(invoke "init")
(assert_trap (invoke "x4lt" (i32.const 2097152) (i32.const 0) (i32.const 1048582)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 3145728)) (i32.const 1290272768))
;; over 1 MiB, running off the end of memory
(invoke "init")
(assert_trap (invoke "x4ne" (i32.const 1645728) (i32.const 0) (i32.const 1500040)) "out of bounds memory access")
(assert_return (invoke "hash" (i32.const 0) (i32.const 3145728)) (i32.const -1951137792))
