#!/bin/sh
# A Jenkins "Execute shell" build step, triggered by GitHub's push webhook
# (the job gets the hook's JSON in $payload, as the original job did).
# A tag push deploys prod with the AMI built for that commit on stage; a
# branch push builds the RPM and AMI and deploys stage.
set -eu
printf '%s' "${payload:?the webhook payload}" >payload.json
eval "$(identify-role --payload payload.json)"
make -C socorro stage            # the Socorro build's staged tree: socorro/build/stage
deploy-socorro -c /etc/socorro/socorro.ini deploy "$PAYLOAD_ENV" \
	--payload payload.json --root socorro/build/stage
