;; `make bench-calls` (bench/calls.sh): the cost of a wasm-to-wasm call in
;; Spry's interpreter. Each export loops n times; "nocalls" is the same loop
;; without the call, the baseline the others are measured against.
(module
  (memory 1)
  (global $sp (mut i32) (i32.const 65536))
  (func $inc (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $add3 (param i32 i32 i32) (result i32)
    (i32.add (i32.add (local.get 0) (local.get 1)) (local.get 2)))
  ;; A callee as compilers emit it: a shadow-stack frame around a store/load.
  (func $framed (param i32) (result i32) (local $fp i32)
    global.get $sp i32.const 16 i32.sub local.tee $fp global.set $sp
    (i32.store offset=4 (local.get $fp) (local.get 0))
    (local.set 0 (i32.add (i32.load offset=4 (local.get $fp)) (i32.const 1)))
    local.get $fp i32.const 16 i32.add global.set $sp
    local.get 0)
  (func (export "nocalls") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    local.get $acc)
  (func (export "calls") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (call $inc (local.get $acc)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    local.get $acc)
  (func (export "calls3") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (call $add3 (local.get $acc) (local.get $i) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    local.get $acc)
  (func (export "framed") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (call $framed (local.get $acc)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    local.get $acc))
