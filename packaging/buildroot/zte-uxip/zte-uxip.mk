################################################################################
#
# zte-uxip
#
################################################################################

ZTE_UXIP_VERSION = 0.1.0
ZTE_UXIP_SITE = $(BR2_EXTERNAL_ZTE_UXIP_PATH)/../..
ZTE_UXIP_SITE_METHOD = local
ZTE_UXIP_SETUP_TYPE = setuptools
ZTE_UXIP_LICENSE = Proprietary

define ZTE_UXIP_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(@D)/init.d/zte-uxip.sysv $(TARGET_DIR)/etc/init.d/S95zte-uxip
endef

define ZTE_UXIP_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/init.d/zte-uxip.service $(TARGET_DIR)/usr/lib/systemd/system/zte-uxip.service
endef

$(eval $(python-package))
