  ;; Shared part of the test guests: memory, a bump allocator, the static manifest and the
  ;; exports a test does not exercise. Memory map: 16..512 strings, 1024.. static results,
  ;; 2048.. the return area of `handle`, 3072.. the arguments of imported calls, 4096.. heap.
  ;; A call must drop the request handle it was lent before it returns.
  (import "palisade:plugin/types@0.1.0" "[resource-drop]request" (func $drop_request (param i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))

  ;; Allocates `new_size` bytes aligned to `align`; never frees. Only fresh allocations are
  ;; requested by the host for these guests, so `old` and `old_size` are ignored.
  (func $realloc (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
    (local $ptr i32)
    (local $end i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $new_size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow
                (i32.add
                  (i32.shr_u
                    (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
                    (i32.const 16))
                  (i32.const 1)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  (data (i32.const 16) "echo")
  (data (i32.const 24) "1.0.0")
  (data (i32.const 32) "say")
  (data (i32.const 40) "starting")
  (data (i32.const 48) "plugin.config.missing")
  (data (i32.const 80) "The configuration is empty.")
  (data (i32.const 112) "{\"controller\":\"server\",\"action\":\"now\"}")
  ;; action { name: "say", http: [] }
  (data (i32.const 256) "\20\00\00\00\03\00\00\00\00\00\00\00\00\00\00\00")
  ;; controller { name: "echo", actions: [the action at 256] }
  (data (i32.const 272) "\10\00\00\00\04\00\00\00\00\01\00\00\01\00\00\00")
  ;; ok(manifest { name: "echo", version: "1.0.0", controllers: [the controller at 272],
  ;; pipes: [], hooks: [], strategies: [] })
  (data (i32.const 1024)
    "\00\00\00\00\10\00\00\00\04\00\00\00\18\00\00\00\05\00\00\00\10\01\00\00\01\00\00\00")
  ;; err(api-error { status: 400, id: "plugin.config.missing", message: ..., props: [] })
  (data (i32.const 1152)
    "\01\00\00\00\90\01\00\00\30\00\00\00\15\00\00\00\50\00\00\00\1b\00\00\00")

  ;; Returns the manifest, or an error when the configuration string is empty.
  (func (export "palisade:plugin/lifecycle@0.1.0#init") (param $ptr i32) (param $len i32) (result i32)
    (if (i32.eqz (local.get $len)) (then (return (i32.const 1152))))
    (i32.const 1024))

  ;; Returns ok(payload). The arguments are the event, the handle of the lent request and the
  ;; payload, each string as a pointer and a length.
  (func (export "palisade:plugin/pipe@0.1.0#run")
    (param $event i32) (param $event_len i32) (param $request i32)
    (param $payload i32) (param $payload_len i32) (result i32)
    (call $drop_request (local.get $request))
    (i32.store8 (i32.const 2048) (i32.const 0))
    (i32.store (i32.const 2052) (local.get $payload))
    (i32.store (i32.const 2056) (local.get $payload_len))
    (i32.const 2048))

  (func (export "palisade:plugin/hook@0.1.0#observe") (param i32 i32 i32 i32 i32)
    (call $drop_request (local.get 2)))
