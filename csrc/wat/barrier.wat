;; ---------------------------------------------------------------------------
;; barrier.wat -- the thread entry points of a threaded module: parking, waking,
;; and the barrier between dependent kernels (WebAssembly threads: atomics and a
;; shared memory).
;;
;; FRAGMENT of module fields: (func ...) definitions and one global.  The module that
;; includes it defines (func $forward (param $tid i32) (param $nthreads i32)),
;; which runs thread $tid's share of every kernel, with a $threads_barrier call
;; between dependent kernels and one at the end.
;;
;; Control block: bytes 0..15 of the memory (the region the memory plan keeps
;; free: address 0 means "no buffer" to the microkernels, so nothing else
;; reads or writes there).  All accesses are atomic.
;;   0  COUNT  threads arrived at the current barrier
;;   4  GEN    barrier generation: the last thread to arrive resets COUNT, then
;;             bumps GEN and wakes the waiters
;;   8  GO     job generation: $threads_run bumps it once per call
;;  12  FLAGS  bit 0 STOP (parked workers return), bit 1 ABORT (a thread
;;             trapped: every waiting thread traps too, so none waits forever)
;;
;; Exports
;;   run(nthreads)             thread 0 (the host's calling thread): wake the
;;                             parked workers, then forward(0, nthreads)
;;   worker(tid, nthreads, go) a worker thread's whole life: park until GO
;;                             differs from go, run forward(tid, nthreads),
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
;; in wasmtime: most barriers and back-to-back calls resolve within it), then
;; sleeps in memory.atomic.wait32.  In a barrier the sleep wakes every
;; millisecond to look at ABORT; a parked worker sleeps until notified.
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

;; all $nthreads threads arrive before any leaves; every write before it is
;; visible to every thread after it (sequentially consistent atomics)
(func $threads_barrier (param $nthreads i32)
  (local $gen i32)
  (local.set $gen (i32.atomic.load offset=4 (i32.const 0)))  ;; before arriving: this barrier's generation
  (if (i32.eq (i32.atomic.rmw.add (i32.const 0) (i32.const 1)) (i32.sub (local.get $nthreads) (i32.const 1)))
    (then
      (i32.atomic.store (i32.const 0) (i32.const 0))
      (drop (i32.atomic.rmw.add offset=4 (i32.const 0) (i32.const 1)))
      (drop (memory.atomic.notify offset=4 (i32.const 0) (i32.const -1))))
    (else
      (call $threads_wait (i32.const 4) (local.get $gen) (i64.const 1000000)))))

(func $threads_run (export "run") (param $nthreads i32)
  (if (i32.gt_u (local.get $nthreads) (i32.const 1))
    (then
      (drop (i32.atomic.rmw.add offset=8 (i32.const 0) (i32.const 1)))
      (drop (memory.atomic.notify offset=8 (i32.const 0) (i32.const -1)))))
  (call $forward (i32.const 0) (local.get $nthreads)))

(func $threads_worker (export "worker") (param $tid i32) (param $nthreads i32) (param $go i32)
  (loop $next
    (call $threads_wait (i32.const 8) (local.get $go) (i64.const -1))
    (if (i32.and (i32.atomic.load offset=12 (i32.const 0)) (i32.const 1)) (then return))
    (local.set $go (i32.atomic.load offset=8 (i32.const 0)))
    (call $forward (local.get $tid) (local.get $nthreads))
    (br $next)))

(func $threads_stop (export "stop")
  (drop (i32.atomic.rmw.or offset=12 (i32.const 0) (i32.const 1)))
  (drop (i32.atomic.rmw.add offset=8 (i32.const 0) (i32.const 1)))
  (drop (memory.atomic.notify offset=8 (i32.const 0) (i32.const -1))))

(func $threads_abort (export "abort")
  (drop (i32.atomic.rmw.or offset=12 (i32.const 0) (i32.const 2)))
  (drop (memory.atomic.notify offset=4 (i32.const 0) (i32.const -1)))
  (drop (memory.atomic.notify offset=8 (i32.const 0) (i32.const -1))))

(func $threads_spin_only (export "spin_only")
  (global.set $threads_may_sleep (i32.const 0)))
