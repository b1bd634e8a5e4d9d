#!/usr/bin/env bash
# The local Kafka's security material, made with openssl only (once; kept afterwards):
#
#   ops/security.sh init     make what is missing in $LEDGER_VAR_DIR/security
#   ops/security.sh show     list it (never a password)
#
# What it makes (private files 0600, the directory 0700):
#   ca.pem, ca.key                 a local certificate authority
#   node.pem                       the brokers' key (PKCS#8, as Kafka's PEM store needs) and
#                                  certificate (CN=ledger-node, SAN IP:127.0.0.1,DNS:localhost:
#                                  librdkafka 2.x checks host names), for TLS and as the
#                                  brokers' principal on the controller listener
#   passwords                      a random password per principal: broker, admin, publisher,
#                                  projector, operator (SASL/PLAIN)
#   PRINCIPAL.properties           a `ledger --kafka-config` file per principal (publisher,
#                                  projector, operator, admin): SASL_SSL, PLAIN, the CA
#   admin-java.properties          the same for Kafka's Java tools (--command-config)
#
# Environment: LEDGER_VAR_DIR (default <checkout>/var).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=${LEDGER_VAR_DIR:-$ROOT/var}
SEC=$VAR/security
PRINCIPALS=(broker admin publisher projector operator)

log() { printf 'security: %s\n' "$*" >&2; }

init() {
  command -v openssl >/dev/null || { log "openssl not found: run ops/install-deps.sh"; exit 1; }
  umask 077
  mkdir -p "$SEC"
  chmod 700 "$SEC"
  if [[ ! -f $SEC/ca.pem ]]; then
    log "making a local certificate authority in $SEC"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$SEC/ca.key" -out "$SEC/ca.pem" -days 3650 \
      -subj "/CN=ledger-local-ca" 2>/dev/null
  fi
  if [[ ! -f $SEC/node.pem ]]; then
    log "making the brokers' certificate (CN=ledger-node, for 127.0.0.1 and localhost)"
    openssl req -newkey rsa:2048 -nodes -keyout "$SEC/node.key" -out "$SEC/node.csr" -subj "/CN=ledger-node" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$SEC/node.ext"
    openssl x509 -req -in "$SEC/node.csr" -CA "$SEC/ca.pem" -CAkey "$SEC/ca.key" -CAcreateserial \
      -out "$SEC/node.crt" -days 825 -extfile "$SEC/node.ext" 2>/dev/null
    # Kafka's PEM key store: the key in PKCS#8, then the certificate.
    openssl pkcs8 -topk8 -nocrypt -in "$SEC/node.key" -out "$SEC/node.p8"
    cat "$SEC/node.p8" "$SEC/node.crt" >"$SEC/node.pem"
    rm -f "$SEC/node.key" "$SEC/node.p8" "$SEC/node.csr" "$SEC/node.ext"
  fi
  if [[ ! -f $SEC/passwords ]]; then
    log "making a password per principal (${PRINCIPALS[*]})"
    for p in "${PRINCIPALS[@]}"; do printf '%s=%s\n' "$p" "$(openssl rand -hex 24)"; done >"$SEC/passwords"
  fi
  for p in admin publisher projector operator; do
    cat >"$SEC/$p.properties" <<PROPS
# The $p principal's Kafka settings for \`ledger --kafka-config\` (librdkafka).
security.protocol=SASL_SSL
sasl.mechanisms=PLAIN
sasl.username=$p
sasl.password=$(password "$p")
ssl.ca.location=$SEC/ca.pem
PROPS
  done
  cat >"$SEC/admin-java.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$(password admin)";
ssl.truststore.type=PEM
ssl.truststore.location=$SEC/ca.pem
PROPS
  chmod 600 "$SEC"/*
}

password() { sed -n "s/^$1=//p" "$SEC/passwords"; }

show() {
  [[ -d $SEC ]] || { log "nothing in $SEC yet: ops/security.sh init"; exit 1; }
  ls -l "$SEC"
  openssl x509 -in "$SEC/node.pem" -noout -subject -ext subjectAltName 2>/dev/null || true
}

case ${1:-} in
  init) init ;;
  show) show ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
