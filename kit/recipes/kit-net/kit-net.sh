#!/bin/bash
# kit-net: the cluster kit's stand-in for kindnetd (whose module the Go proxy does not serve).
# On every node: write the CNI config for this node's pod CIDR (ptp + host-local + portmap), route every other
# node's pod CIDR via that node's current InternalIP (kind node IPs can change after `docker start`), and
# masquerade pod traffic that leaves the pod network. Re-checked every few seconds; bounded API timeouts.
set -u
SA=/var/run/secrets/kubernetes.io/serviceaccount
API="https://${CONTROL_PLANE_ENDPOINT:-${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}}"
CONF=/etc/cni/net.d/10-kit-net.conflist
INTERVAL="${KIT_NET_INTERVAL:-3}"
log() { echo "$(date -u +%H:%M:%S) kit-net: $*"; }

ensure_masquerade() {
  iptables -t nat -N KIT-NET-MASQ 2>/dev/null || true
  iptables -t nat -C POSTROUTING -j KIT-NET-MASQ 2>/dev/null || iptables -t nat -A POSTROUTING -j KIT-NET-MASQ
  iptables -t nat -C KIT-NET-MASQ -d "$POD_SUBNET" -j RETURN 2>/dev/null \
    || iptables -t nat -A KIT-NET-MASQ -d "$POD_SUBNET" -j RETURN
  iptables -t nat -C KIT-NET-MASQ -s "$POD_SUBNET" -j MASQUERADE 2>/dev/null \
    || iptables -t nat -A KIT-NET-MASQ -s "$POD_SUBNET" -j MASQUERADE
}

write_conf() {
  local tmp="$CONF.tmp"
  cat > "$tmp" <<JSON
{"cniVersion": "0.4.0", "name": "kit-net", "plugins": [
  {"type": "ptp", "ipMasq": false, "mtu": 1500,
   "ipam": {"type": "host-local", "dataDir": "/run/cni-ipam-state", "routes": [{"dst": "0.0.0.0/0"}],
            "ranges": [[{"subnet": "$1"}]]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
  if ! cmp -s "$tmp" "$CONF"; then mv "$tmp" "$CONF"; log "wrote $CONF for $1"; else rm -f "$tmp"; fi
}

log "starting on $HOST_IP (pod subnet $POD_SUBNET, api $API)"
while true; do
  if nodes=$(curl -sS --max-time 5 --cacert "$SA/ca.crt" -H "Authorization: Bearer $(cat "$SA/token")" \
      "$API/api/v1/nodes"); then
    while read -r name ip cidr; do
      [ -z "$cidr" ] || [ "$cidr" = "null" ] && continue
      if [ "$ip" = "$HOST_IP" ]; then
        write_conf "$cidr"
      else
        current=$(ip route show "$cidr" 2>/dev/null)
        case "$current" in
          *"via $ip "*) ;;
          *) ip route replace "$cidr" via "$ip" && log "route $cidr via $ip ($name)" ;;
        esac
      fi
    done < <(echo "$nodes" | jq -r '.items[] | [.metadata.name,
        (.status.addresses[] | select(.type=="InternalIP") | .address), (.spec.podCIDR // "null")]
        | @tsv' 2>/dev/null)
    ensure_masquerade
  else
    log "API not reachable yet; retrying"
  fi
  sleep "$INTERVAL"
done
