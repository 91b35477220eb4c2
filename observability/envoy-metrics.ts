// The Envoy metrics (as Envoy's Prometheus page names them) that meshgate's rules and dashboards
// read: the unit test of the dashboards accepts these, and the stats-listener integration test
// checks that a real Envoy of the pinned version serves every one of them.
export const ENVOY_METRICS = [
  'envoy_cluster_upstream_rq_completed',
  'envoy_cluster_upstream_rq_xx',
  'envoy_cluster_upstream_rq_time_bucket',
  'envoy_cluster_upstream_rq_body_size_sum',
  'envoy_cluster_upstream_rs_body_size_sum',
  'envoy_cluster_membership_healthy',
  'envoy_control_plane_connected_state',
  'envoy_http_ext_authz_error',
  'envoy_cluster_upstream_rq_pending_overflow',
  'envoy_cluster_upstream_rq_active_overflow',
  'envoy_http_admission_control_rq_rejected',
  'envoy_overload_envoy_overload_actions_stop_accepting_requests_active',
] as const;
