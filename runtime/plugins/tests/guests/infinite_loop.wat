(module
  ;;COMMON

  ;; Never returns.
  (func (export "palisade:plugin/controller@0.1.0#handle") (param $request i32) (result i32)
    (loop $forever (br $forever))
    unreachable)
)
