(module
  (import "palisade:plugin/environment@0.1.0" "random-bytes" (func $random_bytes (param i32 i32)))
  (import "palisade:plugin/types@0.1.0" "[method]request.args"
    (func $request_args (param i32 i32)))
  ;;COMMON

  ;; Requests as many random bytes as `request.args` has bytes, and returns
  ;; ok(response { status: <length of the list received>, result: "echo", headers: [] }).
  (func (export "palisade:plugin/controller@0.1.0#handle") (param $request i32) (result i32)
    ;; request.args(), its string at 3300
    (call $request_args (local.get $request) (i32.const 3300))
    (call $random_bytes (i32.load (i32.const 3304)) (i32.const 3072))
    (call $drop_request (local.get $request))
    (i32.store8 (i32.const 2048) (i32.const 0))
    (i32.store16 (i32.const 2052) (i32.load (i32.const 3076)))
    (i32.store (i32.const 2056) (i32.const 16))
    (i32.store (i32.const 2060) (i32.const 4))
    (i32.store (i32.const 2064) (i32.const 0))
    (i32.store (i32.const 2068) (i32.const 0))
    (i32.const 2048))
)
