;; The shape wit-component gives a component that embeds an adapter: a
;; "shim" core module whose functions only forward to elements of its table,
;; imported by the main module, and a "fixup" module filling the table with
;; an active element segment (here with a canonical built-in and one of the
;; main module's functions). Table $ta is written by nothing else: Spry binds
;; main's imports of its forwarders to the elements' functions. Table $tb is
;; also imported by a "writer" module that can table.set it, so calls through
;; it keep going through the table and see what the writer put there.
;; Slot 1 of $ta is never filled: a call through it must still trap.
;; tests/unit/component/test_link_compose.c (link_shim.*) runs it.
(component
  (type $r (resource (rep i32)))
  (core func $drop (canon resource.drop $r))
  (core module $shim
    (table (export "ta") 2 2 funcref)
    (table (export "tb") 2 2 funcref)
    (func $fwd-drop (export "drop") (param i32)
      (call_indirect 0 (param i32) (local.get 0) (i32.const 0)))
    (func $fwd-empty (export "empty") (result i32)
      (call_indirect 0 (result i32) (i32.const 1)))
    (func $fwd-b (export "b") (result i32)
      (call_indirect 1 (result i32) (i32.const 0)))
    (func $fwd-b-drop (export "b-drop") (param i32)
      (call_indirect 1 (param i32) (local.get 0) (i32.const 1))))
  (core instance $shim (instantiate $shim))
  (core module $main
    (import "shim" "drop" (func $drop (param i32)))
    (import "shim" "empty" (func $empty (result i32)))
    (import "shim" "b" (func $b (result i32)))
    (import "shim" "b-drop" (func $b-drop (param i32)))
    (func $one (export "one") (result i32) (i32.const 1))
    (func $two (export "two") (result i32) (i32.const 2))
    (func $call-drop (export "call-drop") (call $drop (i32.const 7)))
    (func $call-empty (export "call-empty") (result i32) (call $empty))
    (func $call-b (export "call-b") (result i32) (call $b))
    (func $call-b-drop (export "call-b-drop") (call $b-drop (i32.const 7))))
  (core instance $main (instantiate $main (with "shim" (instance $shim))))
  (core module $fixup
    (import "" "ta" (table $ta 2 2 funcref))
    (import "" "tb" (table $tb 2 2 funcref))
    (import "" "drop" (func $drop (param i32)))
    (import "" "one" (func $one (result i32)))
    (elem (table $ta) (i32.const 0) func $drop)
    (elem (table $tb) (i32.const 0) func $one $drop))
  (core instance (instantiate $fixup
    (with "" (instance
      (export "ta" (table $shim "ta"))
      (export "tb" (table $shim "tb"))
      (export "drop" (func $drop))
      (export "one" (func $main "one"))))))
  (core module $writer
    (import "" "tb" (table $tb 2 2 funcref))
    (import "" "two" (func $two (result i32)))
    (elem declare func $two)
    (func (export "retarget") (table.set $tb (i32.const 0) (ref.func $two))))
  (core instance $writer (instantiate $writer
    (with "" (instance
      (export "tb" (table $shim "tb"))
      (export "two" (func $main "two"))))))
  (func (export "call-drop") (canon lift (core func $main "call-drop")))
  (func (export "call-empty") (result u32) (canon lift (core func $main "call-empty")))
  (func (export "call-b") (result u32) (canon lift (core func $main "call-b")))
  (func (export "call-b-drop") (canon lift (core func $main "call-b-drop")))
  (func (export "retarget") (canon lift (core func $writer "retarget"))))
