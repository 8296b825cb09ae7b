;; Two nested components wired together, as `wac plug` or
;; `wasm-tools compose` would: $callee (strings in UTF-8) exports functions
;; and a resource; $caller (strings in UTF-16) imports them and lowers them
;; into its own core module. Each has its own memory and allocator. The
;; root re-exports what the unit tests (test_link_compose.c) call.
(component
  (component $callee
    (core module $m
      (memory (export "mem") 1)
      (table (export "t") 1 funcref)
      (global $heap (mut i32) (i32.const 4096))
      (global $posts (mut i32) (i32.const 0))
      (global $drops (mut i32) (i32.const 0))
      (data (i32.const 16) "hello, ")
      ;; A bump allocator that grows memory as needed.
      (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        ;; shrinking keeps the block; growing copies it
        (if (i32.and (i32.ne (local.get 0) (i32.const 0)) (i32.le_u (local.get 3) (local.get 1)))
          (then (return (local.get 0))))
        (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
        (global.set $heap (i32.add (local.get $p) (local.get 3)))
        (block $ok
          (loop $grow
            (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
            (br_if $ok (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
            (br $grow)))
        (memory.copy (local.get $p) (local.get 0) (local.get 1))
        (local.get $p))
      ;; greet(name: string) -> string: "hello, " + name
      (func (export "greet") (param $p i32) (param $n i32) (result i32)
        (local $out i32) (local $ret i32)
        (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 1)
                                       (i32.add (local.get $n) (i32.const 7))))
        (memory.copy (local.get $out) (i32.const 16) (i32.const 7))
        (memory.copy (i32.add (local.get $out) (i32.const 7)) (local.get $p) (local.get $n))
        (local.set $ret (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
        (i32.store (local.get $ret) (local.get $out))
        (i32.store offset=4 (local.get $ret) (i32.add (local.get $n) (i32.const 7)))
        (local.get $ret))
      ;; post-return of greet: counts its calls
      (func (export "greet-post") (param i32)
        (global.set $posts (i32.add (global.get $posts) (i32.const 1))))
      (func (export "posts") (result i32) (global.get $posts))
      ;; sum(xs: list<point>) -> point
      (func (export "sum") (param $p i32) (param $n i32) (result i32)
        (local $x i32) (local $y i32) (local $ret i32)
        (block $done
          (loop $l
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $x (i32.add (local.get $x) (i32.load (local.get $p))))
            (local.set $y (i32.add (local.get $y) (i32.load offset=4 (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $l)))
        (local.set $ret (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
        (i32.store (local.get $ret) (local.get $x))
        (i32.store offset=4 (local.get $ret) (local.get $y))
        (local.get $ret))
      ;; the counter's destructor: counts the drops
      (func (export "dtor") (param i32)
        (global.set $drops (i32.add (global.get $drops) (i32.const 1))))
      (func (export "drops") (result i32) (global.get $drops))
      ;; calls table[0]: the component's own `posts`, lowered (re-entering)
      (func (export "reenter") (result i32)
        (call_indirect (result i32) (i32.const 0)))
    )
    (core instance $mi (instantiate $m))
    (type $counter (resource (rep i32) (dtor (core func $mi "dtor"))))
    (core func $new (canon resource.new $counter))
    (core func $rep (canon resource.rep $counter))
    (core func $drop (canon resource.drop $counter))
    (core module $r
      (import "canon" "new" (func $new (param i32) (result i32)))
      (import "canon" "rep" (func $rep (param i32) (result i32)))
      (import "canon" "drop" (func $drop (param i32)))
      (func (export "ctor") (param i32) (result i32) (call $new (local.get 0)))
      ;; a borrow of a resource the component implements arrives as its rep
      (func (export "get") (param i32) (result i32) (local.get 0))
      ;; consume(c: own<counter>) -> u32: its rep; drops it
      (func (export "consume") (param $h i32) (result i32)
        (local $v i32)
        (local.set $v (call $rep (local.get $h)))
        (call $drop (local.get $h))
        (local.get $v))
    )
    (core instance $ri (instantiate $r
      (with "canon" (instance
        (export "new" (func $new)) (export "rep" (func $rep)) (export "drop" (func $drop))))))
    (type $point (record (field "x" s32) (field "y" s32)))
    (export $pt "point" (type $point))
    (export $c "counter" (type $counter))
    (func (export "greet") (param "name" string) (result string)
      (canon lift (core func $mi "greet") (memory (core memory $mi "mem")) (realloc (core func $mi "realloc"))
        string-encoding=utf8 (post-return (core func $mi "greet-post"))))
    (func (export "sum") (param "xs" (list $pt)) (result $pt)
      (canon lift (core func $mi "sum") (memory (core memory $mi "mem")) (realloc (core func $mi "realloc"))))
    (func (export "[constructor]counter") (param "start" u32) (result (own $c))
      (canon lift (core func $ri "ctor")))
    (func (export "[method]counter.get") (param "self" (borrow $c)) (result u32)
      (canon lift (core func $ri "get")))
    (func (export "consume") (param "c" (own $c)) (result u32)
      (canon lift (core func $ri "consume")))
    (func $posts (export "posts") (result u32) (canon lift (core func $mi "posts")))
    (func (export "drops") (result u32) (canon lift (core func $mi "drops")))
    ;; `reenter` calls `posts` through the canonical ABI: the instance is on
    ;; the stack, so that call traps.
    (core func $posts-lowered (canon lower (func $posts)))
    (core module $fix
      (import "" "t" (table 1 funcref))
      (import "" "f" (func $f (result i32)))
      (elem (i32.const 0) func $f))
    (core instance (instantiate $fix
      (with "" (instance (export "t" (table $mi "t")) (export "f" (func $posts-lowered))))))
    (func (export "reenter") (result u32) (canon lift (core func $mi "reenter")))
  )

  (component $caller
    (import "callee" (instance $b
      (type $pt0 (record (field "x" s32) (field "y" s32)))
      (export "point" (type $pt (eq $pt0)))
      (export "counter" (type $c (sub resource)))
      (export "greet" (func (param "name" string) (result string)))
      (export "sum" (func (param "xs" (list $pt)) (result $pt)))
      (export "[constructor]counter" (func (param "start" u32) (result (own $c))))
      (export "[method]counter.get" (func (param "self" (borrow $c)) (result u32)))
      (export "consume" (func (param "c" (own $c)) (result u32)))))
    (alias export $b "point" (type $point))
    (core module $mem
      (memory (export "mem") 1)
      (global $heap (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        ;; shrinking keeps the block; growing copies it
        (if (i32.and (i32.ne (local.get 0) (i32.const 0)) (i32.le_u (local.get 3) (local.get 1)))
          (then (return (local.get 0))))
        (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
        (global.set $heap (i32.add (local.get $p) (local.get 3)))
        (block $ok
          (loop $grow
            (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
            (br_if $ok (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
            (br $grow)))
        (memory.copy (local.get $p) (local.get 0) (local.get 1))
        (local.get $p)))
    (core instance $memi (instantiate $mem))
    (core func $greet (canon lower (func $b "greet") (memory (core memory $memi "mem"))
      (realloc (core func $memi "realloc")) string-encoding=utf16))
    (core func $sum (canon lower (func $b "sum") (memory (core memory $memi "mem"))
      (realloc (core func $memi "realloc"))))
    (core func $ctor (canon lower (func $b "[constructor]counter")))
    (core func $get (canon lower (func $b "[method]counter.get")))
    (core func $consume (canon lower (func $b "consume")))
    (core module $main
      (import "b" "greet" (func $greet (param i32 i32 i32)))
      (import "b" "sum" (func $sum (param i32 i32 i32)))
      (import "b" "ctor" (func $ctor (param i32) (result i32)))
      (import "b" "get" (func $get (param i32) (result i32)))
      (import "b" "consume" (func $consume (param i32) (result i32)))
      (import "m" "mem" (memory 1))
      ;; relay(s: string) -> string: asks the callee, returns its answer
      (func (export "relay") (param i32 i32) (result i32)
        (call $greet (local.get 0) (local.get 1) (i32.const 64))
        (i32.const 64))
      (func (export "relay-sum") (param i32 i32) (result i32)
        (call $sum (local.get 0) (local.get 1) (i32.const 64))
        (i32.const 64))
      ;; a counter made, read through a borrow, moved to the callee:
      ;; get * 1000 + the rep consume saw
      (func (export "use-counter") (param $start i32) (result i32)
        (local $h i32) (local $v i32)
        (local.set $h (call $ctor (local.get $start)))
        (local.set $v (call $get (local.get $h)))
        (i32.add (i32.mul (local.get $v) (i32.const 1000)) (call $consume (local.get $h))))
      ;; the handle was moved by consume: using it again traps
      (func (export "use-after-move") (result i32)
        (local $h i32)
        (local.set $h (call $ctor (i32.const 5)))
        (drop (call $consume (local.get $h)))
        (call $get (local.get $h)))
      ;; a handle number the caller never had
      (func (export "bad-handle") (result i32)
        (call $get (i32.const 7)))
    )
    (core instance $maini (instantiate $main
      (with "b" (instance
        (export "greet" (func $greet)) (export "sum" (func $sum)) (export "ctor" (func $ctor))
        (export "get" (func $get)) (export "consume" (func $consume))))
      (with "m" (instance $memi))))
    (func (export "relay") (param "s" string) (result string)
      (canon lift (core func $maini "relay") (memory (core memory $memi "mem"))
        (realloc (core func $memi "realloc")) string-encoding=utf16))
    (func (export "relay-sum") (param "xs" (list $point)) (result $point)
      (canon lift (core func $maini "relay-sum") (memory (core memory $memi "mem"))
        (realloc (core func $memi "realloc"))))
    (func (export "use-counter") (param "start" u32) (result u32)
      (canon lift (core func $maini "use-counter")))
    (func (export "use-after-move") (result u32) (canon lift (core func $maini "use-after-move")))
    (func (export "bad-handle") (result u32) (canon lift (core func $maini "bad-handle")))
  )

  (instance $b (instantiate $callee))
  (instance $a (instantiate $caller (with "callee" (instance $b))))
  (export "relay" (func $a "relay"))
  (export "relay-sum" (func $a "relay-sum"))
  (export "use-counter" (func $a "use-counter"))
  (export "use-after-move" (func $a "use-after-move"))
  (export "bad-handle" (func $a "bad-handle"))
  (export "posts" (func $b "posts"))
  (export "drops" (func $b "drops"))
  (export "reenter" (func $b "reenter"))
)
