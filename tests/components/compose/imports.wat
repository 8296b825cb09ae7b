;; Components that import a core module and a component, instantiated with
;; definitions of the root: each import is satisfied by the argument.
(component
  (core module $seven
    (func (export "f") (result i32) (i32.const 7)))
  (component $answer
    (core module $m (func (export "g") (result i32) (i32.const 42)))
    (core instance $i (instantiate $m))
    (func (export "g") (result u32) (canon lift (core func $i "g"))))

  ;; imports a core module, instantiates it, lifts its export
  (component $uses-module
    (import "m" (core module $m (export "f" (func (result i32)))))
    (core instance $i (instantiate $m))
    (func (export "f") (result u32) (canon lift (core func $i "f"))))

  ;; imports a component, instantiates it twice, re-exports a function of each
  (component $uses-component
    (import "c" (component $c (export "g" (func (result u32)))))
    (instance $one (instantiate $c))
    (instance $two (instantiate $c))
    (export "g1" (func $one "g"))
    (export "g2" (func $two "g")))

  ;; a nested component outer-aliases the module its parent imports
  (component $outer-alias
    (import "m" (core module $m (export "f" (func (result i32)))))
    (component $inner
      (alias outer $outer-alias $m (core module $mm))
      (core instance $i (instantiate $mm))
      (func (export "f") (result u32) (canon lift (core func $i "f"))))
    (instance $x (instantiate $inner))
    (export "f" (func $x "f")))

  (instance $um (instantiate $uses-module (with "m" (core module $seven))))
  (instance $oa (instantiate $outer-alias (with "m" (core module $seven))))
  (instance $uc (instantiate $uses-component (with "c" (component $answer))))
  (export "f" (func $um "f"))
  (export "f-outer" (func $oa "f"))
  (export "g1" (func $uc "g1"))
  (export "g2" (func $uc "g2"))
)
