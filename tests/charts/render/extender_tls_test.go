package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"net/url"
	"path"
	"testing"
)

const (
	kExtDp      = "Deployment/mpshare-extender"
	kExtSecret  = "Secret/mpshare-extender-tls"
	kExtCert    = "Certificate/mpshare-extender"
	kExtCA      = "Certificate/mpshare-extender-ca"
	kHTTPSValue = "scheduler.extender.enableHTTPS=true"
)

var kDeploymentMode = "extender.mode=deployment"

// secretPEM decodes one data key of a rendered Secret.
func secretPEM(t *testing.T, objs objects, secret, key string) []byte {
	t.Helper()
	data, _ := get(objs.must(t, secret), "data").(map[string]interface{})
	s, _ := data[key].(string) // keys hold dots, which get() would split
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 {
		t.Fatalf("%s data.%s is not base64 PEM: %v", secret, key, err)
	}
	return raw
}

// verifiesFor checks that certPEM chains to caPEM for the DNS name a client dials.
func verifiesFor(t *testing.T, caPEM, certPEM []byte, name string) {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("ca.crt holds no certificate")
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatalf("tls.crt is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("tls.crt: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
		t.Errorf("serving certificate does not verify for %s: %v", name, err)
	}
}

// schedulerExtender is the extender entry of the scheduler's configuration.
func schedulerExtender(t *testing.T, objs objects) object {
	t.Helper()
	sc := embedded(t, objs, "mpshare-scheduler", kSchedulerDataKey)
	ext, _ := get(sc, "extenders.0").(map[string]interface{})
	if ext == nil {
		t.Fatalf("scheduler configuration has no extender entry")
	}
	return ext
}

// trustedCA follows the scheduler's tlsConfig.caFile to the Secret key mounted
// there, the way the kubelet lays it out: "Secret/name", key.
func trustedCA(t *testing.T, objs objects, caFile string) (string, string) {
	t.Helper()
	spec := get(objs.must(t, kSchedDp), "spec.template.spec")
	containers, _ := get(spec, "containers").([]interface{})
	scheduler := findByName(containers, "kube-scheduler")
	mounts, _ := get(scheduler, "volumeMounts").([]interface{})
	for _, m := range mounts {
		dir := str(get(m, "mountPath"))
		if path.Dir(caFile) != dir {
			continue
		}
		volume := findByName(get(spec, "volumes"), str(get(m, "name")))
		if get(volume, "secret") == nil {
			t.Fatalf("%s is not mounted from a Secret", dir)
		}
		items, _ := get(volume, "secret.items").([]interface{})
		if len(items) != 1 {
			t.Fatalf("the scheduler mounts %d keys of the extender's Secret, want ca.crt alone", len(items))
		}
		if str(get(items[0], "path")) != path.Base(caFile) {
			t.Fatalf("caFile %s is not the mounted item %s", caFile, str(get(items[0], "path")))
		}
		return "Secret/" + str(get(volume, "secret.secretName")), str(get(items[0], "key"))
	}
	t.Fatalf("no volume of kube-scheduler is mounted at the directory of caFile %s", caFile)
	return "", ""
}

// End to end for the Helm-generated certificate: the scheduler dials https on a
// name the extender's certificate carries, and trusts the CA that signed it.
func TestExtenderHTTPSWithHelmCertificate(t *testing.T) {
	objs := renderObjects(t, Options{Set: []string{kDeploymentMode, kHTTPSValue}})
	c := "spec.template.spec.containers.0."
	runChecks(t, objs, []check{
		{kExtDp, c + "args", "- serve - --listen - 0.0.0.0:8888 - --tls-cert - /tls/tls.crt - --tls-key - /tls/tls.key - --config - /config/extender.yaml"},
		{kExtDp, c + "readinessProbe.httpGet.scheme", "HTTPS"},
		{kExtDp, c + "readinessProbe.httpGet.path", "/readyz"},
		{kExtDp, c + "livenessProbe.httpGet.scheme", "HTTPS"},
		{kExtSecret, "type", "kubernetes.io/tls"},
	})
	spec := get(objs.must(t, kExtDp), "spec.template.spec")
	mount := findByName(get(spec, c[len("spec.template.spec."):]+"volumeMounts"), "extender-tls")
	if str(get(mount, "mountPath")) != "/tls" || get(mount, "subPath") != nil {
		t.Errorf("extender-tls mount = %v, want the whole Secret at /tls", mount)
	}
	if got := str(get(findByName(get(spec, "volumes"), "extender-tls"), "secret.secretName")); got != "mpshare-extender-tls" {
		t.Errorf("extender-tls volume Secret = %q, want mpshare-extender-tls", got)
	}

	ext := schedulerExtender(t, objs)
	if str(get(ext, "enableHTTPS")) != "true" {
		t.Errorf("enableHTTPS = %s, want true", str(get(ext, "enableHTTPS")))
	}
	u, err := url.Parse(str(get(ext, "urlPrefix")))
	if err != nil || u.Scheme != "https" || u.Port() != "8888" || u.Path != "/scheduler" {
		t.Fatalf("urlPrefix = %s, want https://...:8888/scheduler", str(get(ext, "urlPrefix")))
	}
	secret, key := trustedCA(t, objs, str(get(ext, "tlsConfig.caFile")))
	if secret != kExtSecret || key != "ca.crt" {
		t.Fatalf("the scheduler trusts %s %s, want %s ca.crt", secret, key, kExtSecret)
	}
	caPEM := secretPEM(t, objs, kExtSecret, "ca.crt")
	verifiesFor(t, caPEM, secretPEM(t, objs, kExtSecret, "tls.crt"), u.Hostname())
	secretPEM(t, objs, kExtSecret, "tls.key")

	// A CA the scheduler has not read yet must restart it.
	sum := sha256.Sum256(caPEM)
	ann := get(objs.must(t, kSchedDp), "spec.template.metadata.annotations.checksum/extender-ca")
	if str(ann) != hex.EncodeToString(sum[:]) {
		t.Errorf("checksum/extender-ca = %s, want the sha256 of the Secret's ca.crt", str(ann))
	}
}

func TestExtenderHTTPSWithCertManager(t *testing.T) {
	objs := renderObjects(t, Options{Set: []string{kDeploymentMode, kHTTPSValue, "extender.tls.mode=certManager"}})
	if _, ok := objs[kExtSecret]; ok {
		t.Errorf("%s rendered; cert-manager writes it", kExtSecret)
	}
	ext := schedulerExtender(t, objs)
	u, err := url.Parse(str(get(ext, "urlPrefix")))
	if err != nil || u.Scheme != "https" {
		t.Fatalf("urlPrefix = %s, want https", str(get(ext, "urlPrefix")))
	}
	mustContain(t, "dnsNames", get(objs.must(t, kExtCert), "spec.dnsNames"), u.Hostname())
	secret, key := trustedCA(t, objs, str(get(ext, "tlsConfig.caFile")))
	if secret != "Secret/"+str(get(objs.must(t, kExtCert), "spec.secretName")) || key != "ca.crt" {
		t.Errorf("the scheduler trusts %s %s, not the Certificate's Secret", secret, key)
	}
	// The serving certificate is signed by a CA that outlives its renewals: the
	// scheduler reads the CA once.
	runChecks(t, objs, []check{
		{kExtCert, "spec.secretName", "mpshare-extender-tls"},
		{kExtCert, "spec.issuerRef.kind", "Issuer"},
		{kExtCert, "spec.issuerRef.name", "mpshare-extender-ca"},
		{"Issuer/mpshare-extender-ca", "spec.ca.secretName", str(get(objs.must(t, kExtCA), "spec.secretName"))},
		{kExtCA, "spec.isCA", "true"},
		{kExtCA, "spec.duration", "87600h"},
		{kExtCA, "spec.issuerRef.name", "mpshare-extender-selfsigned"},
		{"Issuer/mpshare-extender-selfsigned", "spec.selfSigned", "{}"},
		{kExtDp, "spec.template.spec.containers.0.args.4", "/tls/tls.crt"},
		{kSchedDp, "spec.template.metadata.annotations.checksum/extender-ca", "<absent>"},
	})

	own := renderObjects(t, Options{Set: []string{kDeploymentMode, kHTTPSValue, "extender.tls.mode=certManager",
		"extender.tls.certManager.issuerRef.kind=ClusterIssuer", "extender.tls.certManager.issuerRef.name=my-ca"}})
	runChecks(t, own, []check{
		{kExtCert, "spec.issuerRef.kind", "ClusterIssuer"},
		{kExtCert, "spec.issuerRef.name", "my-ca"},
	})
	for _, absent := range []string{kExtCA, "Issuer/mpshare-extender-ca", "Issuer/mpshare-extender-selfsigned"} {
		if _, ok := own[absent]; ok {
			t.Errorf("%s rendered although an issuerRef is given", absent)
		}
	}
}

// A CA the user names replaces the mounted one: no mount, no caFile of the chart's.
func TestExtenderHTTPSWithTheUsersCA(t *testing.T) {
	objs := renderObjects(t, Options{Set: []string{kDeploymentMode, kHTTPSValue,
		"scheduler.extender.tlsConfig.caData=Zm9v"}})
	ext := schedulerExtender(t, objs)
	if got := str(get(ext, "tlsConfig")); got != "caData: Zm9v" {
		t.Errorf("tlsConfig = %q, want the user's caData alone", got)
	}
	if v := findByName(get(objs.must(t, kSchedDp), "spec.template.spec.volumes"), "extender-ca"); v != nil {
		t.Errorf("the extender's CA is mounted although tlsConfig names its own: %v", v)
	}
	objs.must(t, kExtSecret) // the extender still needs its serving certificate
}

func TestExtenderDeploymentWithoutHTTPS(t *testing.T) {
	objs := renderObjects(t, Options{Set: []string{kDeploymentMode}})
	runChecks(t, objs, []check{
		{kExtDp, "spec.template.spec.containers.0.args", "- serve - --listen - 0.0.0.0:8888 - --config - /config/extender.yaml"},
		{kExtDp, "spec.template.spec.containers.0.readinessProbe.httpGet.scheme", "HTTP"},
		{kExtDp, "spec.template.spec.containers.0.volumeMounts.1", "<absent>"},
	})
	ext := schedulerExtender(t, objs)
	runChecks(t, objects{"e/x": ext}, []check{
		{"e/x", "urlPrefix", "http://mpshare-extender.mpshare.svc:8888/scheduler"},
		{"e/x", "enableHTTPS", "false"},
		{"e/x", "tlsConfig", "<absent>"},
	})
	for _, absent := range []string{kExtSecret, kExtCert} {
		if _, ok := objs[absent]; ok {
			t.Errorf("%s rendered without enableHTTPS", absent)
		}
	}
}
