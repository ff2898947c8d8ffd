(module
  ;;COMMON

  ;; Traps at once.
  (func (export "palisade:plugin/controller@0.1.0#handle") (param $request i32) (result i32)
    unreachable)
)
