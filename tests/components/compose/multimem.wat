;; A core module with two memories (the multi-memory proposal) inside a
;; component: Spry's engine runs Wasm 2.0 modules, which have one.
(component
  (core module $m
    (memory (export "a") 1)
    (memory (export "b") 1)
    (func (export "f") (result i32) (i32.const 1)))
  (core instance $i (instantiate $m))
  (func (export "f") (result u32) (canon lift (core func $i "f"))))
