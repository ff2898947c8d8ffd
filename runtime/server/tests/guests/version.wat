(module
  ;;COMMON

  (data (i32.const 400) "\22version-1\22")

  ;; Returns ok(response { status: 200, result: "\"version-1\"", headers: [] }). Tests replace
  ;; the digit to build the versions of a hot reload.
  (func (export "palisade:plugin/controller@0.1.0#handle") (param $request i32) (result i32)
    (call $drop_request (local.get $request))
    (i32.store8 (i32.const 2048) (i32.const 0))
    (i32.store16 (i32.const 2052) (i32.const 200))
    (i32.store (i32.const 2056) (i32.const 400))
    (i32.store (i32.const 2060) (i32.const 11))
    (i32.store (i32.const 2064) (i32.const 0))
    (i32.store (i32.const 2068) (i32.const 0))
    (i32.const 2048))
)
