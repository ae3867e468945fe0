#!/bin/sh
# Post a line from a CI job into a hubbub conversation, as a bot, through an incoming
# webhook (docs/integrations.md). The webhook's URL holds its secret: keep it in the CI's
# secret variables.
#
#   HUBBUB_WEBHOOK_URL=https://chat.example.com/hooks/<id>/<secret> \
#     examples/ci_notify.sh "build 12 passed" "build-12"
#
# The second argument, if given, is the Idempotency-Key: a retried job posts once.
# The one line it comes down to:
#   curl -fsS -H 'Content-Type: application/json' -d '{"text": "build 12 passed"}' "$HUBBUB_WEBHOOK_URL"
set -eu
text=${1:?usage: ci_notify.sh TEXT [IDEMPOTENCY_KEY]}
key=${2:-}
url=${HUBBUB_WEBHOOK_URL:?set HUBBUB_WEBHOOK_URL to the webhook URL}
# The text as a JSON string: backslashes, quotes and tabs escaped, lines joined by \n.
json=$(printf '%s\n' "$text" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' \
  | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }')
set -- -fsS -H 'Content-Type: application/json'
if [ -n "$key" ]; then
  set -- "$@" -H "Idempotency-Key: $key"
fi
curl "$@" --data-binary "{\"text\": \"$json\"}" "$url"
