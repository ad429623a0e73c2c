/**
 * Private: whether a replica's ONNX Runtime intra-op threads may spin-wait
 * (`session.intra_op.allow_spinning`, ORT's default is yes).
 *
 * Spinning keeps a session's worker threads busy-waiting between parallel sections so the next
 * section starts without a wake-up; it pays only when those threads have cores to themselves.
 * A replica's own preprocessing (sharp/libvips) and the server's main thread run on the same
 * cores, and other replicas may too. Measured on the 2-core build machine (one process, a
 * 2-thread ResNet-50 session, blocks with spinning on and off interleaved, loadavg 13.5):
 * inference p50 376 ms spinning vs 197 ms not, preprocessing between runs 91 ms vs 38 ms.
 *
 * Policy: spin only when the replica has 2+ threads, the cluster does not promise more logical
 * CPUs than the machine has, and the replica's threads leave at least one core for everything
 * else (preprocessing, HTTP, other replicas).
 *
 * @module
 */

/** See the module doc; `numCpus` is the replica's `ray_actor_options.num_cpus`. */
export function intraOpSpinning(
  numCpus: number,
  options: { clusterCpus: number; machineCpus: number },
): boolean {
  const threads = Math.max(1, Math.floor(numCpus));
  if (threads < 2) return false;
  if (options.clusterCpus > options.machineCpus) return false;
  return threads + 1 <= options.machineCpus;
}
