;; A component that links (it imports nothing) but exports no
;; wasi:http/incoming-handler: spry up must refuse it at start, naming the
;; component and the missing interface.
(component
  (core module $m
    (func (export "hello") (result i32) i32.const 7))
  (core instance $i (instantiate $m))
  (func (export "hello") (result u32)
    (canon lift (core func $i "hello"))))
