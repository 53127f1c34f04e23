#!/bin/sh
# mkcerts.sh DIR: make test TLS material in DIR with the openssl CLI.
#
#   ca.pem                         the test CA
#   localhost.pem, localhost.key   server cert for DNS:localhost, signed by ca.pem
#   wrong.pem, wrong.key           server cert for DNS:wrong.test, signed by ca.pem
#   other-ca.pem                   an unrelated CA that signed nothing here
#
# EC P-256 keys: quick to make, and BearSSL speaks ECDHE-ECDSA.
set -eu
dir=$1
cd "$dir"

ca() { # ca NAME CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

leaf() { # leaf NAME DNSNAME
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
	printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
		"$2" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
		-days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}

ca ca "socorro-bootstrap test CA"
ca other-ca "unrelated test CA"
leaf localhost localhost
leaf wrong wrong.test
