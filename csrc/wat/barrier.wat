;; ---------------------------------------------------------------------------
;; barrier.wat -- the thread entry points of a threaded module: parking, waking,
;; joining a call, and waiting for the chunks of kernels (WebAssembly threads:
;; atomics and a shared memory).
;;
;; FRAGMENT of module fields: (func ...) definitions and one global.  The module that
;; includes it defines (func $forward (param $tid i32) (param $nthreads i32)), which
;; claims the chunks of every kernel in turn (an atomic counter per kernel: any
;; thread may take any chunk, so a thread that has no core does not hold the others
;; up), waiting before a kernel for every chunk of the kernels it depends on
;; ($threads_await), and (func $threads_reset) zeroing those counters.
;;
;; Control block: bytes 0..15 of the memory (the region the memory plan keeps
;; free: address 0 means "no buffer" to the microkernels, so nothing else
;; reads or writes there).  All accesses are atomic.
;;   0  JOIN   workers that joined the current call; bit 31 CLOSED: thread 0
;;             has done its part and takes no more (a worker that wakes late
;;             then skips the call instead of making thread 0 wait for it)
;;   4  EXITED joined workers that have left forward
;;   8  GO     job generation: $threads_run bumps it once per call on N > 1
;;  12  FLAGS  bit 0 STOP (parked workers return), bit 1 ABORT (a thread
;;             trapped: every waiting thread traps too, so none waits forever)
;;
;; Exports
;;   run(nthreads)             thread 0 (the host's calling thread): reset the
;;                             counters, open the call and wake the parked workers
;;                             (nthreads > 1), forward(0, nthreads), close the call
;;                             and wait for the workers that joined it to leave
;;   worker(tid, nthreads, go) a worker thread's whole life: park until GO
;;                             differs from go, join the call unless it is closed,
;;                             run forward(tid, nthreads), wait for the close,
;;                             park again; return when STOP is set
;;   stop()                    set STOP and wake every parked worker
;;   abort()                   set ABORT and wake every waiter (the host calls
;;                             it when a thread trapped; it resets FLAGS after)
;;   spin_only()               this instance never sleeps, it only spins (with
;;                             the ABORT check): for a browser's main thread,
;;                             where memory.atomic.wait32 traps; a per-instance
;;                             global, so the other threads still sleep
;;
;; Waiting spins first (THREADS_SPIN iterations of one atomic load, about 0.2 ms
;; in wasmtime: most waits and back-to-back calls resolve within it), then
;; sleeps in memory.atomic.wait32.  A waiter in a call sleeps a millisecond at a
;; time to look at ABORT; a parked worker sleeps until notified.
;; THREADS_SPIN 200000 rather than 20000: waking a sleeping thread costs more
;; than the spin (benchmarks/threads_probe.py --spin, 2026-12-01, busy 2-core
;; host: 2-thread/1-thread speed transformer 0.79x -> 0.92x, MLP 0.83x -> 0.91x).
;; ---------------------------------------------------------------------------

(global $threads_may_sleep (mut i32) (i32.const 1))  ;; 0 after spin_only()

;; wait until the i32 at $addr is no longer $old: spin, then sleep ($timeout ns
;; at a time, -1 = until notified); trap when ABORT is set
(func $threads_wait (param $addr i32) (param $old i32) (param $timeout i64)
  (local $i i32)
  (local.set $i (i32.const 200000))  ;; THREADS_SPIN
  (block $done
    (loop $spin
      (br_if $done (i32.ne (i32.atomic.load (local.get $addr)) (local.get $old)))
      (if (i32.and (i32.atomic.load offset=12 (i32.const 0)) (i32.const 2)) (then unreachable))
      (br_if $spin (i32.or (i32.eqz (global.get $threads_may_sleep))
                           (local.tee $i (i32.sub (local.get $i) (i32.const 1))))))
    (loop $sleep
      (drop (memory.atomic.wait32 (local.get $addr) (local.get $old) (local.get $timeout)))
      (br_if $done (i32.ne (i32.atomic.load (local.get $addr)) (local.get $old)))
      (if (i32.and (i32.atomic.load offset=12 (i32.const 0)) (i32.const 2)) (then unreachable))
      (br $sleep))))

;; wait until the i32 at $addr (a kernel's count of finished chunks) reaches $n;
;; every write of those chunks is then visible (sequentially consistent atomics)
(func $threads_await (param $addr i32) (param $n i32)
  (local $v i32)
  (block $done
    (loop $again
      (br_if $done (i32.ge_u (local.tee $v (i32.atomic.load (local.get $addr))) (local.get $n)))
      (call $threads_wait (local.get $addr) (local.get $v) (i64.const 1000000))
      (br $again))))

;; one finished chunk of the kernel whose count is at $addr, of $n; the last one
;; wakes the waiters (they wait for all $n: an earlier notify would wake them for nothing)
(func $threads_done (param $addr i32) (param $n i32)
  (if (i32.eq (i32.atomic.rmw.add (local.get $addr) (i32.const 1)) (i32.sub (local.get $n) (i32.const 1)))
    (then (drop (memory.atomic.notify (local.get $addr) (i32.const -1))))))

(func $threads_run (export "run") (param $nthreads i32)
  (local $joined i32)
  (local $v i32)
  (call $threads_reset)  ;; no worker is inside forward: the last call waited for them
  (if (i32.le_u (local.get $nthreads) (i32.const 1))
    (then  ;; thread 0 alone: the call stays closed, a worker that wakes late skips it
      (i32.atomic.store (i32.const 0) (i32.const 0x80000000))
      (call $forward (i32.const 0) (i32.const 1))
      (return)))
  (i32.atomic.store offset=4 (i32.const 0) (i32.const 0))
  (i32.atomic.store (i32.const 0) (i32.const 0))  ;; open: after the reset, before the wake-up
  (drop (i32.atomic.rmw.add offset=8 (i32.const 0) (i32.const 1)))
  (drop (memory.atomic.notify offset=8 (i32.const 0) (i32.const -1)))
  (call $forward (i32.const 0) (local.get $nthreads))
  (local.set $joined (i32.and (i32.atomic.rmw.or (i32.const 0) (i32.const 0x80000000)) (i32.const 0x7fffffff)))
  (drop (memory.atomic.notify (i32.const 0) (i32.const -1)))
  (block $done
    (loop $again
      (br_if $done (i32.eq (local.tee $v (i32.atomic.load offset=4 (i32.const 0))) (local.get $joined)))
      (call $threads_wait (i32.const 4) (local.get $v) (i64.const 1000000))
      (br $again))))

;; join the current call: false when thread 0 has closed it
(func $threads_join (result i32)
  (local $v i32)
  (loop $again
    (local.set $v (i32.atomic.load (i32.const 0)))
    (if (i32.and (local.get $v) (i32.const 0x80000000)) (then (return (i32.const 0))))
    (br_if $again (i32.ne (i32.atomic.rmw.cmpxchg (i32.const 0) (local.get $v) (i32.add (local.get $v) (i32.const 1)))
                          (local.get $v))))
  (i32.const 1))

(func $threads_worker (export "worker") (param $tid i32) (param $nthreads i32) (param $go i32)
  (local $v i32)
  (loop $next
    (call $threads_wait (i32.const 8) (local.get $go) (i64.const -1))
    (if (i32.and (i32.atomic.load offset=12 (i32.const 0)) (i32.const 1)) (then return))
    (local.set $go (i32.atomic.load offset=8 (i32.const 0)))
    (if (call $threads_join)
      (then
        (call $forward (local.get $tid) (local.get $nthreads))
        (drop (i32.atomic.rmw.add offset=4 (i32.const 0) (i32.const 1)))
        (drop (memory.atomic.notify offset=4 (i32.const 0) (i32.const -1)))
        ;; until thread 0 closes the call (an ABORT meanwhile traps here: every thread traps out)
        (block $closed
          (loop $again
            (br_if $closed (i32.and (local.tee $v (i32.atomic.load (i32.const 0))) (i32.const 0x80000000)))
            (call $threads_wait (i32.const 0) (local.get $v) (i64.const 1000000))
            (br $again)))))
    (br $next)))

(func $threads_stop (export "stop")
  (drop (i32.atomic.rmw.or offset=12 (i32.const 0) (i32.const 1)))
  (drop (i32.atomic.rmw.add offset=8 (i32.const 0) (i32.const 1)))
  (drop (memory.atomic.notify offset=8 (i32.const 0) (i32.const -1))))

(func $threads_abort (export "abort")
  (drop (i32.atomic.rmw.or offset=12 (i32.const 0) (i32.const 2)))
  (drop (memory.atomic.notify (i32.const 0) (i32.const -1)))
  (drop (memory.atomic.notify offset=4 (i32.const 0) (i32.const -1)))
  (drop (memory.atomic.notify offset=8 (i32.const 0) (i32.const -1))))

(func $threads_spin_only (export "spin_only")
  (global.set $threads_may_sleep (i32.const 0)))
