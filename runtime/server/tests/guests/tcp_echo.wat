(module
  (import "palisade:plugin/tcp@0.1.0" "[static]connection.connect"
    (func $connect (param i32 i32 i32 i32 i32 i32)))
  (import "palisade:plugin/tcp@0.1.0" "[method]connection.write"
    (func $write (param i32 i32 i32 i32 i32)))
  (import "palisade:plugin/tcp@0.1.0" "[method]connection.read"
    (func $read (param i32 i32 i32 i32)))
  (import "palisade:plugin/tcp@0.1.0" "[resource-drop]connection"
    (func $drop (param i32)))
  ;;COMMON

  (data (i32.const 432) "127.0.0.1")
  (data (i32.const 448) "\22ping\22")

  ;; Connects to 127.0.0.1:PORT with the security SECURITY (0 plain, 1 tls; tests replace both),
  ;; writes "ping" as a JSON string, reads up to 64 bytes and returns them as the result, which an
  ;; echo server makes "ping" again. Any host error is returned unchanged.
  (func (export "palisade:plugin/controller@0.1.0#handle") (param $request i32) (result i32)
    (local $connection i32)
    (call $drop_request (local.get $request))
    (call $connect
      (i32.const 432) (i32.const 9)
      (i32.const PORT) (i32.const SECURITY) (i32.const 2000)
      (i32.const 3200))
    ;; err(api-error) has the same layout in every result here: pass it on.
    (if (i32.load8_u (i32.const 3200)) (then (return (i32.const 3200))))
    (local.set $connection (i32.load (i32.const 3204)))

    (call $write (local.get $connection) (i32.const 448) (i32.const 6) (i32.const 2000)
      (i32.const 3232))
    (if (i32.load8_u (i32.const 3232)) (then (return (i32.const 3232))))

    (call $read (local.get $connection) (i32.const 64) (i32.const 2000) (i32.const 3264))
    (if (i32.load8_u (i32.const 3264)) (then (return (i32.const 3264))))
    (call $drop (local.get $connection))

    ;; ok(response { status: 200, result: the bytes read, headers: [] })
    (i32.store8 (i32.const 2048) (i32.const 0))
    (i32.store16 (i32.const 2052) (i32.const 200))
    (i32.store (i32.const 2056) (i32.load (i32.const 3268)))
    (i32.store (i32.const 2060) (i32.load (i32.const 3272)))
    (i32.store (i32.const 2064) (i32.const 0))
    (i32.store (i32.const 2068) (i32.const 0))
    (i32.const 2048))
)
