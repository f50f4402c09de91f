#!/usr/bin/env bash
# Runs every test. Installs what the tests need (Debian packages: kcat, the Kafka client the
# cross-process test uses; redis-server and postgresql, the membership stores of the
# silo-process tests; chromium, the browser the Kafka page is tested in) and
# prints the totals as its last line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages) for the process tests"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >/dev/null && $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null || { echo "could not install ${missing[*]}"; exit 1; }
fi

results=artifacts/test-results
rm -rf "$results"
# A test that hangs is stopped after 5 minutes and reported as the one that hung, rather than
# holding the run until CI gives up on it.
dotnet test OrleansKafka.sln -c Release --logger "trx" --results-directory "$results" --blame-hang-timeout 5m --blame-hang-dump-type none "$@"
status=$?

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  total=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + total - p - f))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
