#!/bin/sh
# Plays an asynchronous payment provider for the order-callback saga (Workflows/order-callback.json).
#
#   payment-provider.sh request ORDER_ID SAGA_ID TOKEN   (the saga's charge-payment action)
#   payment-provider.sh refund ORDER_ID                  (its compensation)
#   payment-provider.sh settle [--decline]               (you: the provider calls back for every open charge)
#
# A request is queued in $SAGA_SCRATCH/provider/ORDER_ID.request and answered at once with {"accepted": true};
# `settle` calls `saga signal` (the binary in $SAGA_BIN, else `saga` on PATH) for each queued request with the
# charge's outcome, as a provider's webhook would, and removes it. The saga's database is $SAGA_DB as usual.
set -eu
. "$(dirname "$0")/lib.sh"

action=${1:-}
case $action in
request)
    saga_init order "${2:-}"
    saga_id=${3:?saga id}
    token=${4:?callback token}
    mkdir -p "$scratch/provider"
    printf '%s %s %s\n' "$2" "$saga_id" "$token" > "$scratch/provider/$2.request"
    echo "charge-payment requested" >> "$log"
    echo '{"accepted": true}'
    ;;
refund)
    saga_init order "${2:-}"
    saga_record refund-payment "{\"orderId\":\"$2\",\"refunded\":true}"
    ;;
settle)
    scratch=${SAGA_SCRATCH:-${TMPDIR:-/tmp}/sagas-scratch}
    saga=${SAGA_BIN:-saga}
    for request in "$scratch"/provider/*.request; do
        [ -f "$request" ] || continue
        read -r order saga_id token < "$request"
        if [ "${2:-}" = "--decline" ]; then
            "$saga" signal "$saga_id" charge-payment --token "$token" --error "card declined" --permanent --by provider
        else
            "$saga" signal "$saga_id" charge-payment --token "$token" --output "{\"chargeId\": \"ch-$order\"}" --by provider
        fi
        rm -f "$request"
    done
    ;;
*)
    echo "usage: payment-provider.sh request ORDER SAGA TOKEN | refund ORDER | settle [--decline]" >&2
    exit 100
    ;;
esac
