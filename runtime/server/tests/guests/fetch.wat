(module
  (import "palisade:plugin/http@0.1.0" "send"
    (func $send (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  ;;COMMON

  (data (i32.const 420) "GET")
  (data (i32.const 432) "URL")
  (data (i32.const 500) "\22sent\22")

  ;; Sends `GET URL` (tests replace URL and URL_LENGTH) and returns ok("sent") when a response
  ;; came back, or the host's error unchanged.
  (func (export "palisade:plugin/controller@0.1.0#handle") (param $request i32) (result i32)
    (call $drop_request (local.get $request))
    (call $send
      (i32.const 420) (i32.const 3)
      (i32.const 432) (i32.const URL_LENGTH)
      (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0)
      (i32.const 2000)
      (i32.const 3200))
    ;; err(api-error) has the same layout in both results: pass it on.
    (if (i32.load8_u (i32.const 3200)) (then (return (i32.const 3200))))
    (i32.store8 (i32.const 2048) (i32.const 0))
    (i32.store16 (i32.const 2052) (i32.const 200))
    (i32.store (i32.const 2056) (i32.const 500))
    (i32.store (i32.const 2060) (i32.const 6))
    (i32.store (i32.const 2064) (i32.const 0))
    (i32.store (i32.const 2068) (i32.const 0))
    (i32.const 2048))
)
