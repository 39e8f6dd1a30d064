//! The cloud a VM runs in (`aws`, `gcp`, `azure`, `oci`, `alibaba`), from the world-readable
//! DMI files and the Xen hypervisor UUID under the root, as cloud-init's `ds-identify` does.
//!
//! Must not: query a metadata service or touch the network, or read the root-only DMI files.

use super::Fact;
use crate::source::read_text;
use std::path::Path;

pub(crate) const DMI: &str = "sys/class/dmi/id";
pub(crate) const HYPERVISOR_UUID: &str = "sys/hypervisor/uuid";

/// Azure's fixed chassis asset tag (cloud-init `ds-identify`, `is_azure_chassis`).
const AZURE_ASSET_TAG: &str = "7783-7084-3265-9085-8269-3286-77";

/// The cloud a VM runs in, from the world-readable DMI files (`product_uuid` and the serials
/// are root-only, so they are not used) and the Xen hypervisor UUID, as cloud-init's
/// `ds-identify` does. `None` on bare metal, on other hypervisors and where DMI is absent
/// (e.g. Firecracker).
pub fn cloud(root: &Path) -> Option<Fact<String>> {
    let dmi = |name: &str| {
        let rel = format!("{DMI}/{name}");
        read_text(root, &rel).map(|v| (rel, v.trim().to_string()))
    };
    let found = |cloud: &str, (rel, value): (String, String)| {
        Some(Fact::new(cloud.to_string(), format!("{rel}: \"{value}\"")))
    };

    // Asset tags first: they are set on purpose by the provider, where a vendor string can be
    // shared with a plain hypervisor (Hyper-V also says "Microsoft Corporation").
    for tag in ["chassis_asset_tag", "board_asset_tag"] {
        if let Some((rel, value)) = dmi(tag) {
            if value == AZURE_ASSET_TAG {
                return found("azure", (rel, value));
            }
            if value == "OracleCloud.com" {
                return found("oci", (rel, value));
            }
        }
    }
    for file in ["sys_vendor", "product_name"] {
        if let Some((rel, value)) = dmi(file) {
            let cloud = match value.as_str() {
                // Nitro: sys_vendor "Amazon EC2", product_name the instance type.
                "Amazon EC2" => "aws",
                "Google" | "Google Compute Engine" => "gcp",
                "Alibaba Cloud" | "Alibaba Cloud ECS" => "alibaba",
                _ => continue,
            };
            return found(cloud, (rel, value));
        }
    }
    // Xen-based EC2 instances say "Xen" in DMI; the hypervisor UUID starts with "ec2".
    if let Some(uuid) = read_text(root, HYPERVISOR_UUID) {
        let uuid = uuid.trim();
        if uuid.to_ascii_lowercase().starts_with("ec2") {
            return found("aws", (HYPERVISOR_UUID.to_string(), uuid.to_string()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testkit::write;

    #[test]
    fn azure_gcp_oci_and_xen_ec2() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(cloud(root), None);
        // Hyper-V says Microsoft too; only the asset tag says Azure.
        write(
            root,
            "sys/class/dmi/id/sys_vendor",
            "Microsoft Corporation\n",
        );
        write(root, "sys/class/dmi/id/product_name", "Virtual Machine\n");
        assert_eq!(cloud(root), None);
        write(
            root,
            "sys/class/dmi/id/chassis_asset_tag",
            "7783-7084-3265-9085-8269-3286-77\n",
        );
        assert_eq!(
            cloud(root),
            Some(Fact::new(
                "azure".to_string(),
                "sys/class/dmi/id/chassis_asset_tag: \"7783-7084-3265-9085-8269-3286-77\""
            ))
        );

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "sys/class/dmi/id/sys_vendor", "Google\n");
        write(
            root,
            "sys/class/dmi/id/product_name",
            "Google Compute Engine\n",
        );
        write(root, "sys/class/dmi/id/chassis_asset_tag", "\n");
        assert_eq!(cloud(root).map(|f| f.value), Some("gcp".to_string()));
        std::fs::remove_file(root.join("sys/class/dmi/id/sys_vendor")).unwrap();
        assert_eq!(
            cloud(root),
            Some(Fact::new(
                "gcp".to_string(),
                "sys/class/dmi/id/product_name: \"Google Compute Engine\""
            ))
        );

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "sys/class/dmi/id/chassis_asset_tag",
            "OracleCloud.com\n",
        );
        assert_eq!(cloud(root).map(|f| f.value), Some("oci".to_string()));

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "sys/class/dmi/id/sys_vendor", "Xen\n");
        write(root, "sys/class/dmi/id/product_name", "HVM domU\n");
        write(
            root,
            HYPERVISOR_UUID,
            "ec2e1916-9099-7caf-fd21-012345abcdef\n",
        );
        assert_eq!(
            cloud(root),
            Some(Fact::new(
                "aws".to_string(),
                "sys/hypervisor/uuid: \"ec2e1916-9099-7caf-fd21-012345abcdef\""
            ))
        );
    }
}
