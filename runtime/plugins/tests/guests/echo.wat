(module
  (import "palisade:plugin/log@0.1.0" "write" (func $log (param i32 i32 i32)))
  (import "palisade:plugin/api@0.1.0" "call" (func $api_call (param i32 i32 i32 i32 i32 i32)))
  (import "palisade:plugin/types@0.1.0" "[method]request.action"
    (func $request_action (param i32 i32)))
  (import "palisade:plugin/types@0.1.0" "[method]request.args"
    (func $request_args (param i32 i32)))
  ;;COMMON

  ;; An action whose name starts with `c` calls `api.call` and returns its outcome; any other
  ;; action returns ok(response { status: 200, result: request.args, headers: [] }).
  (func (export "palisade:plugin/controller@0.1.0#handle") (param $request i32) (result i32)
    ;; log.write(info, "starting")
    (call $log (i32.const 2) (i32.const 40) (i32.const 8))
    ;; request.action(), its string at 3300
    (call $request_action (local.get $request) (i32.const 3300))
    (if (i32.eq
          (i32.load8_u (i32.load (i32.const 3300)))
          (i32.const 0x63))
      (then
        ;; api.call(payload, identity::plugin, none), results at 3200
        (call $api_call
          (i32.const 112) (i32.const 38) (i32.const 0) (i32.const 0) (i32.const 0)
          (i32.const 3200))
        ;; err(api-error) has the same layout in both results: pass it on.
        (call $drop_request (local.get $request))
        (if (i32.load8_u (i32.const 3200)) (then (return (i32.const 3200))))
        (i32.store8 (i32.const 2048) (i32.const 0))
        (i32.store16 (i32.const 2052) (i32.const 200))
        (i32.store (i32.const 2056) (i32.load (i32.const 3204)))
        (i32.store (i32.const 2060) (i32.load (i32.const 3208)))
        (return (i32.const 2048))))
    (i32.store8 (i32.const 2048) (i32.const 0))
    (i32.store16 (i32.const 2052) (i32.const 200))
    ;; request.args(), its string at 3308
    (call $request_args (local.get $request) (i32.const 3308))
    (i32.store (i32.const 2056) (i32.load (i32.const 3308)))
    (i32.store (i32.const 2060) (i32.load (i32.const 3312)))
    (call $drop_request (local.get $request))
    (i32.store (i32.const 2064) (i32.const 0))
    (i32.store (i32.const 2068) (i32.const 0))
    (i32.const 2048))
)
