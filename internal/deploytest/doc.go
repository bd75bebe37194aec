// Package deploytest holds only tests: they render the deployment manifests
// under deploy/ (both kustomizations and the sidecar Component applied to an
// example application in testdata, with sigs.k8s.io/kustomize; the Helm
// chart with Helm's own engine, with its options and with values files as
// `helm install -f` reads them), decode every object strictly into the
// k8s.io/api types, and check the result against what the gatehouse binary
// serves and accepts: the probe paths and port, the command line of the
// container image, and the configuration file, which must load with
// internal/config and pass its validation with the secrets the manifests map
// into the environment. deploy/ itself holds no Go code.
package deploytest
