#!/bin/sh
# One step of the money transfer saga (Workflows/transfer.json).
#
#   transfer-step.sh STEP TRANSFER_ID FROM TO AMOUNT
#
# Actions: check-limits (no effect), debit, credit, record. Compensation: refund (undoes debit).
# Appends to $SAGA_SCRATCH/transfer-TRANSFER_ID.log and prints the step's output as JSON.
set -eu
. "$(dirname "$0")/lib.sh"

step=${1:-}
transfer=${2:-}
saga_init transfer "$transfer"
from=${3:-}
to=${4:-}
amount=${5:-}
saga_check_id "$from"
saga_check_id "$to"
case $amount in
'' | *[!0-9]*)
    echo "invalid amount '$amount': a whole number of cents" >&2
    exit 100
    ;;
esac

case $step in
check-limits)
    saga_fail_on_demand "$step"
    if [ "$amount" -gt 1000000 ]; then
        echo "amount $amount is over the 1000000 limit" >&2
        exit 100
    fi
    printf '{"transferId":"%s","allowed":true}\n' "$transfer"
    ;;
debit | credit | refund | record)
    saga_fail_on_demand "$step"
    case $step in
    debit) account=$from ;;
    refund) account=$from ;;
    *) account=$to ;;
    esac
    saga_record "$step" "{\"transferId\":\"$transfer\",\"$step\":{\"account\":\"$account\",\"amount\":$amount}}"
    ;;
*)
    echo "transfer-step.sh: unknown step '$step'" >&2
    exit 100
    ;;
esac
