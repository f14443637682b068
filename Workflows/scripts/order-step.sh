#!/bin/sh
# One step of the order saga (Workflows/order.json).
#
#   order-step.sh STEP ORDER_ID [ARG]
#
# Actions: create-order, reserve-stock, charge-payment, ship. Compensations: cancel-order,
# release-stock RESERVATION, refund-payment PAYMENT. Probe: probe ORDER_ID STEP.
# Appends to $SAGA_SCRATCH/order-ORDER_ID.log and prints the step's output as JSON.
set -eu
. "$(dirname "$0")/lib.sh"

step=${1:-}
order=${2:-}
saga_init order "$order"

case $step in
create-order)
    saga_fail_on_demand "$step"
    saga_record "$step" "{\"orderId\":\"$order\",\"status\":\"created\"}"
    ;;
reserve-stock)
    saga_fail_on_demand "$step"
    saga_record "$step" "{\"orderId\":\"$order\",\"reservation\":\"r-$order\"}"
    ;;
charge-payment)
    saga_fail_on_demand "$step"
    saga_record "$step" "{\"orderId\":\"$order\",\"payment\":\"p-$order\"}"
    ;;
ship)
    saga_fail_on_demand "$step"
    saga_record "$step" "{\"orderId\":\"$order\",\"shipment\":\"s-$order\"}"
    ;;
cancel-order | release-stock | refund-payment)
    saga_fail_undo_on_demand
    undone=${3:-$order}
    saga_check_id "$undone"
    saga_record "$step" "{\"orderId\":\"$order\",\"undone\":\"$undone\"}"
    ;;
probe)
    saga_probe "${3:-}"
    ;;
*)
    echo "order-step.sh: unknown step '$step'" >&2
    exit 100
    ;;
esac
