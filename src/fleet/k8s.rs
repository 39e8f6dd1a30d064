//! Rendered Kubernetes manifests: workloads, their ConfigMaps, env, resources, sysctls, HPAs.
