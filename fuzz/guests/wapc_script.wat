;; The waPC guest of the `wapc_protocol` fuzz target: its `__guest_call` reads the request (the
;; operation at 0, the payload at 64 KiB) and runs the payload as a script of waPC import calls
;; with fuzzed pointers and lengths, so hostile guest behaviour reaches every host function.
;; SPDX-License-Identifier: Apache-2.0
;;
;; Script: a command byte, then its u32 arguments (little-endian). A command byte below 0x80 masks
;; pointer arguments into the memory; 0x80 and above passes them raw (mostly out of bounds).
;;   c%10 = 0 guest_response(p,n)  1 guest_error(p,n)  2 host_call(p,n,p,n,p,n,p,n)
;;          3 host_response(p)     4 host_error(p)     5 console_log(p,n)
;;          6 host_response_len + host_error_len       7 return the argument
;;          8 guest_request(p,p)   9 unreachable
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
  (import "wapc" "__host_error" (func $host_error (param i32)))
  (import "wapc" "__console_log" (func $console_log (param i32 i32)))
  (memory (export "memory") 4)
  (global $pc (mut i32) (i32.const 0))
  (global $end (mut i32) (i32.const 0))
  (global $raw (mut i32) (i32.const 0))

  ;; The next u32 of the script (0 past its end).
  (func $arg (result i32)
    (local $v i32)
    (if (i32.le_u (i32.add (global.get $pc) (i32.const 4)) (global.get $end))
      (then (local.set $v (i32.load (global.get $pc)))))
    (global.set $pc (i32.add (global.get $pc) (i32.const 4)))
    (local.get $v))
  ;; A pointer argument: masked into the memory unless the command was raw.
  (func $ptr (result i32)
    (if (result i32) (global.get $raw)
      (then (call $arg))
      (else (i32.and (call $arg) (i32.const 0x3ffff)))))
  ;; A length argument: small unless the command was raw.
  (func $len (result i32)
    (if (result i32) (global.get $raw)
      (then (call $arg))
      (else (i32.and (call $arg) (i32.const 0xfff)))))

  (func (export "__guest_call") (param $op_len i32) (param $msg_len i32) (result i32)
    (local $c i32)
    (call $guest_request (i32.const 0) (i32.const 65536))
    (global.set $pc (i32.const 65536))
    (global.set $end (i32.add (i32.const 65536) (local.get $msg_len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (global.get $pc) (global.get $end)))
        (local.set $c (i32.load8_u (global.get $pc)))
        (global.set $pc (i32.add (global.get $pc) (i32.const 1)))
        (global.set $raw (i32.ge_u (local.get $c) (i32.const 0x80)))
        (block $b9 (block $b8 (block $b7 (block $b6 (block $b5
        (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 $b3 $b4 $b5 $b6 $b7 $b8 $b9
            (i32.rem_u (local.get $c) (i32.const 10))))
          (call $guest_response (call $ptr) (call $len)) (br $next))
          (call $guest_error (call $ptr) (call $len)) (br $next))
          (drop (call $host_call (call $ptr) (call $len) (call $ptr) (call $len)
                                 (call $ptr) (call $len) (call $ptr) (call $len)))
          (br $next))
          (call $host_response (call $ptr)) (br $next))
          (call $host_error (call $ptr)) (br $next))
          (call $console_log (call $ptr) (call $len)) (br $next))
          (drop (call $host_response_len)) (drop (call $host_error_len)) (br $next))
          (return (call $arg)))
          (call $guest_request (call $ptr) (call $ptr)) (br $next))
        unreachable))
    (i32.const 1)))
