// The gate before a gateway route's checks: Envoy's admission_control filter, refusing a share
// of a route's calls before ext-authz or the rate-limit service is asked, while the route's
// calls are being refused for load (resolve/defaults.ts DEFAULT_ADMISSION says why).
//
// Envoy's admission_control keeps one success rate per filter config and has no per-route
// settings: in the chain itself, one service's overload would shed every other route's calls.
// So the chain holds a composite filter (behind a matcher) that does nothing, and each gated
// route gives it, as its per-route matcher, an action that runs admission_control with the
// route's settings: each route's action is a filter config of its own, so each route keeps its
// own success rate. A route config pushed again starts its routes' windows afresh.
import type { JsonObject } from '../../shared/proto/codec.js';
import type { AdmissionPolicy } from '../resolve/policy-types.js';

export const ADMISSION_GATE_FILTER = 'meshgate.admission_gate';

/** What admission_control writes as the response code details of a call it refused (no response flag says so). */
export const ADMISSION_REFUSED_DETAILS = 'denied_by_admission_control';

/** In the chain, off: a route that asks a check turns it on (routeAdmission). */
export const ADMISSION_GATE: JsonObject = {
  name: ADMISSION_GATE_FILTER,
  disabled: true,
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.common.matching.v3.ExtensionWithMatcher',
    xds_matcher: {},
    extension_config: { name: 'composite', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.composite.v3.Composite' } },
  },
};

const percent = (value: number): JsonObject => ({ value });

/** Only refusals for load count against a route: a 4xx is the caller's own (a bad key, its rate limit). */
const SUCCESS: JsonObject = {
  http_criteria: {
    http_success_status: [
      { start: 100, end: 503 },
      { start: 504, end: 600 },
    ],
  },
};

/**
 * The gate turned on for one route. The same settings give the same object, built once (a
 * service's policy is one value while it is unchanged, the default one for every service that
 * sets none); Envoy still makes each route's filter config, and so its state, its own.
 */
export function routeAdmission(a: AdmissionPolicy): JsonObject {
  let built = byPolicy.get(a);
  if (!built) byPolicy.set(a, (built = gateFor(a)));
  return built;
}

const byPolicy = new WeakMap<AdmissionPolicy, JsonObject>();

function gateFor(a: AdmissionPolicy): JsonObject {
  return {
    [ADMISSION_GATE_FILTER]: {
      '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
      disabled: false,
      config: {
        '@type': 'type.googleapis.com/envoy.extensions.common.matching.v3.ExtensionWithMatcherPerRoute',
        xds_matcher: {
          on_no_match: {
            action: {
              name: 'admission',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.http.composite.v3.ExecuteFilterAction',
                typed_config: {
                  name: 'envoy.filters.http.admission_control',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.http.admission_control.v3.AdmissionControl',
                    success_criteria: SUCCESS,
                    sampling_window: `${a.windowSeconds}s`,
                    sr_threshold: { default_value: percent(a.successRatePercent), runtime_key: 'meshgate.admission.success_rate' },
                    aggression: { default_value: a.aggression, runtime_key: 'meshgate.admission.aggression' },
                    rps_threshold: { default_value: a.minRequestsPerSecond, runtime_key: 'meshgate.admission.min_rps' },
                    max_rejection_probability: { default_value: percent(a.maxRejectionPercent), runtime_key: 'meshgate.admission.max_rejection' },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}
