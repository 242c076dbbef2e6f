-- wrk prints p50/p75/p90/p99 only; bench/pages.py wants p50 and p95 and the counts, machine-readable.
done = function(summary, latency, requests)
  io.write(string.format("p50=%.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("p95=%.2f\n", latency:percentile(95) / 1000))
  io.write(string.format("rps=%.1f\n", summary.requests / (summary.duration / 1000000)))
  io.write(string.format("non2xx=%d\n", summary.errors.status))
  io.write(string.format("errors=%d\n", summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
