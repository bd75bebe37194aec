package deploytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// manifests are the decoded objects of one rendering, by kind.
type manifests struct {
	Deployments          []*appsv1.Deployment
	Services             []*corev1.Service
	ConfigMaps           []*corev1.ConfigMap
	Secrets              []*corev1.Secret
	ServiceAccounts      []*corev1.ServiceAccount
	PodDisruptionBudgets []*policyv1.PodDisruptionBudget
	Ingresses            []*networkingv1.Ingress
	HPAs                 []*autoscalingv2.HorizontalPodAutoscaler
	NetworkPolicies      []*networkingv1.NetworkPolicy
	ServiceMonitors      []*serviceMonitor
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1) the chart renders; a field outside it is an
// error, like any unknown field.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		NamespaceSelector *struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector,omitempty"`
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port              string           `json:"port"`
			Path              string           `json:"path"`
			Interval          string           `json:"interval,omitempty"`
			ScrapeTimeout     string           `json:"scrapeTimeout,omitempty"`
			Relabelings       []map[string]any `json:"relabelings,omitempty"`
			MetricRelabelings []map[string]any `json:"metricRelabelings,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// decodeManifests splits a YAML stream into documents and decodes each one
// strictly into its k8s.io/api type: duplicate keys, a field the type lacks
// (compared case-sensitively), an apiVersion/kind outside the list below and
// a missing name are errors.
func decodeManifests(stream []byte) (*manifests, error) {
	m := &manifests{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		if err := m.add(doc); err != nil {
			return nil, fmt.Errorf("document %d: %w\n%s", i, err, doc)
		}
	}
}

// stripComments drops whole-line YAML comments, to tell an empty document
// (only comments) from an object.
func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

func (m *manifests) add(doc []byte) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return err
	}
	var obj interface{ GetName() string }
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		o := &appsv1.Deployment{}
		m.Deployments, obj = append(m.Deployments, o), o
	case "v1 Service":
		o := &corev1.Service{}
		m.Services, obj = append(m.Services, o), o
	case "v1 ConfigMap":
		o := &corev1.ConfigMap{}
		m.ConfigMaps, obj = append(m.ConfigMaps, o), o
	case "v1 Secret":
		o := &corev1.Secret{}
		m.Secrets, obj = append(m.Secrets, o), o
	case "v1 ServiceAccount":
		o := &corev1.ServiceAccount{}
		m.ServiceAccounts, obj = append(m.ServiceAccounts, o), o
	case "policy/v1 PodDisruptionBudget":
		o := &policyv1.PodDisruptionBudget{}
		m.PodDisruptionBudgets, obj = append(m.PodDisruptionBudgets, o), o
	case "networking.k8s.io/v1 Ingress":
		o := &networkingv1.Ingress{}
		m.Ingresses, obj = append(m.Ingresses, o), o
	case "autoscaling/v2 HorizontalPodAutoscaler":
		o := &autoscalingv2.HorizontalPodAutoscaler{}
		m.HPAs, obj = append(m.HPAs, o), o
	case "networking.k8s.io/v1 NetworkPolicy":
		o := &networkingv1.NetworkPolicy{}
		m.NetworkPolicies, obj = append(m.NetworkPolicies, o), o
	case "monitoring.coreos.com/v1 ServiceMonitor":
		o := &serviceMonitor{}
		m.ServiceMonitors, obj = append(m.ServiceMonitors, o), o
	default:
		return fmt.Errorf("unexpected object apiVersion %q kind %q", tm.APIVersion, tm.Kind)
	}
	// encoding/json's DisallowUnknownFields would still match field names
	// case-insensitively (readOnlyRootFileSystem for readOnlyRootFilesystem),
	// which the API server refuses: decode as it does, case-sensitively.
	strict, err := k8sjson.UnmarshalStrict(js, obj, k8sjson.DisallowUnknownFields, k8sjson.DisallowDuplicateFields)
	if err != nil {
		return fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if err := errors.Join(strict...); err != nil {
		return fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if obj.GetName() == "" {
		return fmt.Errorf("%s without metadata.name", tm.Kind)
	}
	return nil
}

// configMap returns the ConfigMap called name, or nil.
func (m *manifests) configMap(name string) *corev1.ConfigMap {
	for _, c := range m.ConfigMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// secret returns the Secret called name, or nil.
func (m *manifests) secret(name string) *corev1.Secret {
	for _, s := range m.Secrets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// kinds lists the decoded objects as "Kind/name", for messages.
func (m *manifests) kinds() string {
	var s []string
	for _, o := range m.Deployments {
		s = append(s, "Deployment/"+o.Name)
	}
	for _, o := range m.Services {
		s = append(s, "Service/"+o.Name)
	}
	for _, o := range m.ConfigMaps {
		s = append(s, "ConfigMap/"+o.Name)
	}
	for _, o := range m.Secrets {
		s = append(s, "Secret/"+o.Name)
	}
	for _, o := range m.ServiceAccounts {
		s = append(s, "ServiceAccount/"+o.Name)
	}
	for _, o := range m.PodDisruptionBudgets {
		s = append(s, "PodDisruptionBudget/"+o.Name)
	}
	for _, o := range m.Ingresses {
		s = append(s, "Ingress/"+o.Name)
	}
	for _, o := range m.HPAs {
		s = append(s, "HorizontalPodAutoscaler/"+o.Name)
	}
	for _, o := range m.NetworkPolicies {
		s = append(s, "NetworkPolicy/"+o.Name)
	}
	for _, o := range m.ServiceMonitors {
		s = append(s, "ServiceMonitor/"+o.Name)
	}
	return strings.Join(s, " ")
}
