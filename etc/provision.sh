#!/bin/sh
# provision.sh: the provisioning script create-ami runs on a builder (its
# --user-data).  It does what the Packer + puppet bootstrap of the original
# socorro-infra did for the generic image: install the Socorro RPM from
# the project's yum repository, and leave every service disabled, so that
# each instance enables only its own role's services at boot (from its
# socorro:roleenv tag, see identify-role --self).
#
# create-ami wraps this script: its exit status is reported on the console
# and the machine powers off afterwards; do not power off here.
set -eu

# The yum repository create-rpm publishes (create-rpm --publish).
REPO_URL=${REPO_URL:-https://s3-us-west-2.amazonaws.com/org.mozilla.crash-stats.packages-public/el/7}

echo "provision: configuring the socorro yum repository"
cat >/etc/yum.repos.d/socorro.repo <<REPO
[socorro]
name=Socorro
baseurl=$REPO_URL/x86_64
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=$REPO_URL/socorro.gpg
REPO

echo "provision: installing socorro and its runtime"
yum -y -q install epel-release
yum -y -q install socorro nginx consul envconsul

echo "provision: disabling services until the instance knows its role"
for s in nginx consul socorro-collector socorro-processor socorro-webapp; do
	systemctl disable "$s" >/dev/null 2>&1 || true
done

echo "provision: cleaning caches"
yum clean all -q
rm -rf /tmp/* 2>/dev/null || true
echo "provision: done"
