(module
  (import "palisade:plugin/types@0.1.0" "[method]request.args"
    (func $request_args (param i32 i32)))
  ;;COMMON

  ;; Grows memory by 1 MiB on every call and never frees it, as a guest with a leak does, then
  ;; returns ok(response { status: 200, result: request.args, headers: [] }).
  (func (export "palisade:plugin/controller@0.1.0#handle") (param $request i32) (result i32)
    (drop (memory.grow (i32.const 16)))
    (i32.store8 (i32.const 2048) (i32.const 0))
    (i32.store16 (i32.const 2052) (i32.const 200))
    ;; request.args(), its string at 3300
    (call $request_args (local.get $request) (i32.const 3300))
    (i32.store (i32.const 2056) (i32.load (i32.const 3300)))
    (i32.store (i32.const 2060) (i32.load (i32.const 3304)))
    (call $drop_request (local.get $request))
    (i32.store (i32.const 2064) (i32.const 0))
    (i32.store (i32.const 2068) (i32.const 0))
    (i32.const 2048))
)
