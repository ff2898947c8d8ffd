(module
  ;;COMMON

  ;; Grows memory by 1 MiB at a time until growing fails.
  (func (export "palisade:plugin/controller@0.1.0#handle") (param $request i32) (result i32)
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable)
)
