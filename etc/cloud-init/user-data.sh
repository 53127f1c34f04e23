#!/bin/sh
# cloud-init user data for a fresh Socorro VM: nothing but a kernel and a
# shell is needed.  The static socorro-bootstrap binaries come from the
# project's yum repo (or any HTTPS location), then the instance finds its
# own role from its tags and enables only that role's services.
set -eu
exec >>/var/log/socorro-bootstrap.log 2>&1

# 1. The toolkit: one RPM of static binaries, no dependencies.
yum -y -q install socorro-bootstrap

# 2. Who am I?  The socorro:roleenv tag, or the auto-scaling group.
eval "$(identify-role --self)"
echo "this instance is $ROLEENV (role $ROLE, env $ENV, group $AUTOSCALENAME)"

# 3. Start what this role runs, nothing else.
case "$ROLE" in
socorroweb) systemctl enable --now nginx socorro-webapp ;;
collector) systemctl enable --now nginx socorro-collector ;;
processor) systemctl enable --now socorro-processor ;;
socorroadmin) systemctl enable --now socorro-crontabber ;;
consul) systemctl enable --now consul ;;
socorrorabbitmq | rabbitmq)
	systemctl enable --now rabbitmq-server
	# The broker's own settings, once it is up (idempotent).
	RABBITMQ_ADMIN_PASSWORD=$(cat /etc/socorro/secrets/rabbitmq-admin) \
		rabbit-init --url http://127.0.0.1:15672 --admin-user admin \
		--password-file /etc/socorro/secrets/rabbitmq --wait 2m
	;;
*) echo "no services for role $ROLE" ;;
esac
