;; The root defines a resource with a destructor; a nested component
;; imports the type and drops what it is given. CanonicalABI.md (0.2),
;; canon resource.drop: dropping an own handle in an instance other than
;; the one that defines the resource traps unless that one may be entered,
;; as Wasmtime checks too. `give` hands the nested instance a resource while
;; the root is on the stack: its drop traps. `take`, called by the host, is
;; the same drop with the root not running: the destructor runs.
(component
  (core module $m
    (global $drops (mut i32) (i32.const 0))
    (func (export "dtor") (param i32)
      (global.set $drops (i32.add (global.get $drops) (i32.const 1))))
    (func (export "drops") (result i32) (global.get $drops)))
  (core instance $mi (instantiate $m))
  (type $r (resource (rep i32) (dtor (core func $mi "dtor"))))
  (export $rx "r" (type $r))
  (core func $new (canon resource.new $r))
  (core func $drop (canon resource.drop $r))

  (component $taker
    (import "r" (type $r (sub resource)))
    (core func $drop (canon resource.drop $r))
    (core module $t
      (import "" "drop" (func $drop (param i32)))
      (func (export "take") (param i32) (call $drop (local.get 0))))
    (core instance $ti (instantiate $t (with "" (instance (export "drop" (func $drop))))))
    (func (export "take") (param "x" (own $r)) (canon lift (core func $ti "take"))))
  (instance $t (instantiate $taker (with "r" (type $rx))))
  (core func $take (canon lower (func $t "take")))

  (core module $main
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (import "" "take" (func $take (param i32)))
    (func (export "make") (result i32) (call $new (i32.const 7)))
    ;; the nested instance drops our resource while we are on the stack
    (func (export "give") (call $take (call $new (i32.const 7))))
    ;; we drop one of ours ourselves: no check, the destructor runs
    (func (export "drop-own") (call $drop (call $new (i32.const 8)))))
  (core instance $maini (instantiate $main
    (with "" (instance
      (export "new" (func $new)) (export "drop" (func $drop)) (export "take" (func $take))))))
  (func (export "make") (result (own $rx)) (canon lift (core func $maini "make")))
  (func (export "give") (canon lift (core func $maini "give")))
  (func (export "drop-own") (canon lift (core func $maini "drop-own")))
  (func (export "drops") (result u32) (canon lift (core func $mi "drops")))
  (export "take" (func $t "take"))
)
