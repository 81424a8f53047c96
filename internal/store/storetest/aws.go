package storetest

import (
	"cmp"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// AWS is a fake of Secrets Manager, SSM Parameter Store and SQS behind one URL: point
// AWS_ENDPOINT_URL (SetEnv) or a store's endpoint option at URL.
type AWS struct {
	URL string
	recorder

	mu      sync.Mutex
	secrets map[string]*smSecret // by name
	params  map[string]*Param    // by name
	queues  map[string][]string  // queue URL → message bodies
	visible []Visibility         // ChangeMessageVisibility calls, in order
}

type smSecret struct {
	arn      string
	current  smVersion
	versions map[string]smVersion // by VersionId, which is the ClientRequestToken
}

type smVersion struct {
	id     string
	str    *string
	binary []byte
}

// Param is an SSM parameter as the fake holds it.
type Param struct {
	Value   string
	Type    string // String, StringList or SecureString
	KeyID   string // the KMS key of a SecureString
	Version int64
}

// NewAWS starts the fake; it stops when the test ends.
func NewAWS(t testing.TB) *AWS {
	f := &AWS{secrets: map[string]*smSecret{}, params: map[string]*Param{}, queues: map[string][]string{}}
	f.URL = f.listen(t, f.serve)
	return f
}

// SetEnv sets the test credentials (SetAWSEnv) and points AWS_ENDPOINT_URL at the fake.
func (f *AWS) SetEnv(t testing.TB) {
	t.Helper()
	SetAWSEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", f.URL)
}

// SetSecret creates the Secrets Manager secret, or gives it a new AWSCURRENT version, holding
// value as its SecretString.
func (f *AWS) SetSecret(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.newVersion(name, smVersion{id: newID(), str: &value})
}

// SetSecretBinary is SetSecret with a SecretBinary.
func (f *AWS) SetSecretBinary(name string, value []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.newVersion(name, smVersion{id: newID(), binary: value})
}

func (f *AWS) newVersion(name string, v smVersion) {
	s := f.secrets[name]
	if s == nil {
		s = &smSecret{arn: SecretARN(name), versions: map[string]smVersion{}}
		f.secrets[name] = s
	}
	s.current = v
	s.versions[v.id] = v
}

// SecretARN gives the ARN the fake gives the secret: GetSecretValue accepts it as SecretId.
func SecretARN(name string) string {
	return "arn:aws:secretsmanager:" + AWSRegion + ":" + AWSAccountID + ":secret:" + name + "-AbCdEf"
}

// Secret gives the SecretString of the secret's AWSCURRENT version.
func (f *AWS) Secret(name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[name]
	if s == nil || s.current.str == nil {
		return "", false
	}
	return *s.current.str, true
}

// SecretVersions counts the versions the secret has had.
func (f *AWS) SecretVersions(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.secrets[name]; s != nil {
		return len(s.versions)
	}
	return 0
}

// SetParameter creates or replaces the SSM parameter as a SecureString under SSM's default key.
func (f *AWS) SetParameter(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var version int64 = 1
	if p := f.params[name]; p != nil {
		version = p.Version + 1
	}
	f.params[name] = &Param{Value: value, Type: "SecureString", KeyID: "alias/aws/ssm", Version: version}
}

// Parameter gives the SSM parameter.
func (f *AWS) Parameter(name string) (Param, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.params[name]; p != nil {
		return *p, true
	}
	return Param{}, false
}

// AddQueue creates an SQS queue and gives its URL.
func (f *AWS) AddQueue(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	url := "https://sqs." + AWSRegion + ".amazonaws.com/" + AWSAccountID + "/" + name
	if _, ok := f.queues[url]; !ok {
		f.queues[url] = []string{}
	}
	return url
}

// Messages gives the bodies sent to the queue, in order.
func (f *AWS) Messages(queueURL string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queues[queueURL]...)
}

// awsService is what the fake knows of a service from its X-Amz-Target prefix.
type awsService struct {
	signingName, contentType string
}

var awsServices = map[string]awsService{
	"secretsmanager": {"secretsmanager", "application/x-amz-json-1.1"},
	"AmazonSSM":      {"ssm", "application/x-amz-json-1.1"},
	"AmazonSQS":      {"sqs", "application/x-amz-json-1.0"},
}

// awsInput holds the fields of every operation the fake serves.
type awsInput struct {
	SecretId, SecretString, ClientRequestToken string
	SecretBinary                               []byte
	Name, Value, Type, KeyId                   string
	WithDecryption, Overwrite                  bool
	QueueUrl, MessageBody, ReceiptHandle       string
	VisibilityTimeout                          *int
}

// Visibility is one ChangeMessageVisibility call the fake received.
type Visibility struct {
	QueueURL, ReceiptHandle string
	Timeout                 int // seconds
}

// Visibilities gives the ChangeMessageVisibility calls, in order.
func (f *AWS) Visibilities() []Visibility {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Visibility(nil), f.visible...)
}

func (f *AWS) serve(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	op := r.Header.Get("X-Amz-Target")
	prefix, _, _ := strings.Cut(op, ".")
	svc, known := awsServices[prefix]
	a := awsAnswer{w: w, contentType: cmp.Or(svc.contentType, "application/x-amz-json-1.1")}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		a.fail(404, "UnknownOperationException", "")
		return
	case !known:
		a.fail(400, "UnknownOperationException", "")
		return
	case r.Header.Get("Content-Type") != svc.contentType:
		a.fail(400, "SerializationException", "Content-Type must be "+svc.contentType)
		return
	}
	if status, code, msg := verifySigV4(r, body, svc.signingName, time.Now()); code != "" {
		a.fail(status, code, msg)
		return
	}

	var in awsInput
	if err := json.Unmarshal(body, &in); err != nil {
		a.fail(400, "SerializationException", "Start of structure or map found where not expected.")
		return
	}
	if fault, ok := f.record(Request{Op: op, ID: cmp.Or(in.SecretId, in.Name, in.QueueUrl), Region: AWSRegion}); ok {
		a.fault(fault)
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if serve, ok := awsOperations[op]; ok {
		serve(f, a, in)
		return
	}
	a.fail(400, "UnknownOperationException", "")
}

// awsOperations are the operations the fake serves, by X-Amz-Target.
var awsOperations = map[string]func(f *AWS, a awsAnswer, in awsInput){
	"secretsmanager.GetSecretValue":     (*AWS).getSecretValue,
	"secretsmanager.PutSecretValue":     (*AWS).putSecretValue,
	"AmazonSSM.GetParameter":            (*AWS).getParameter,
	"AmazonSSM.PutParameter":            (*AWS).putParameter,
	"AmazonSQS.SendMessage":             (*AWS).sendMessage,
	"AmazonSQS.ChangeMessageVisibility": (*AWS).changeVisibility,
}

// secret finds a secret by name or by the ARN SecretARN gives.
func (f *AWS) secret(id string) (string, *smSecret) {
	if s := f.secrets[id]; s != nil {
		return id, s
	}
	for name, s := range f.secrets {
		if s.arn == id {
			return name, s
		}
	}
	return "", nil
}

func (f *AWS) getSecretValue(a awsAnswer, in awsInput) {
	name, s := f.secret(in.SecretId)
	if s == nil {
		a.fail(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	out := map[string]any{"ARN": s.arn, "Name": name, "VersionId": s.current.id,
		"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9}
	if s.current.str != nil {
		out["SecretString"] = *s.current.str
	} else {
		out["SecretBinary"] = s.current.binary
	}
	a.ok(out)
}

func (f *AWS) putSecretValue(a awsAnswer, in awsInput) {
	name, s := f.secret(in.SecretId)
	switch {
	case s == nil:
		a.fail(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	case (in.SecretString == "") == (in.SecretBinary == nil):
		a.fail(400, "InvalidParameterException", "You must provide either SecretString or SecretBinary.")
		return
	case in.ClientRequestToken != "" && (len(in.ClientRequestToken) < 32 || len(in.ClientRequestToken) > 64):
		a.fail(400, "ValidationException", "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64")
		return
	}
	v := smVersion{id: cmp.Or(in.ClientRequestToken, newID()), binary: in.SecretBinary}
	if in.SecretString != "" {
		v.str = &in.SecretString
	}
	if old, ok := s.versions[v.id]; ok {
		// The same token again: the same request repeated, or a conflict.
		if !sameVersion(old, v) {
			a.fail(400, "ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
			return
		}
	} else {
		f.newVersion(name, v)
	}
	a.ok(map[string]any{"ARN": s.arn, "Name": name, "VersionId": v.id, "VersionStages": []string{"AWSCURRENT"}})
}

func sameVersion(a, b smVersion) bool {
	return (a.str == nil) == (b.str == nil) && (a.str == nil || *a.str == *b.str) && string(a.binary) == string(b.binary)
}

func (f *AWS) getParameter(a awsAnswer, in awsInput) {
	p := f.params[in.Name]
	if p == nil {
		a.fail(400, "ParameterNotFound", "")
		return
	}
	value := p.Value
	if p.Type == "SecureString" && !in.WithDecryption {
		sum := sha256.Sum256([]byte(value)) // stands for the ciphertext: never the value
		value = "AQICAHh" + base64.StdEncoding.EncodeToString(sum[:])
	}
	a.ok(map[string]any{"Parameter": map[string]any{
		"Name": in.Name, "Type": p.Type, "Value": value, "Version": p.Version, "DataType": "text",
		"ARN":              "arn:aws:ssm:" + AWSRegion + ":" + AWSAccountID + ":parameter/" + strings.TrimPrefix(in.Name, "/"),
		"LastModifiedDate": 1.7e9,
	}})
}

func (f *AWS) putParameter(a awsAnswer, in awsInput) {
	p := f.params[in.Name]
	switch {
	case in.Name == "":
		a.fail(400, "ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
		return
	case len(in.Value) > 4096:
		a.fail(400, "ValidationException", "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.")
		return
	case p != nil && !in.Overwrite:
		a.fail(400, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
		return
	case in.Type != "" && in.Type != "String" && in.Type != "StringList" && in.Type != "SecureString":
		a.fail(400, "ValidationException", "1 validation error detected: Value at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]")
		return
	case in.KeyId != "" && in.Type != "SecureString":
		a.fail(400, "ValidationException", "KeyId is required for SecureString type parameter only.")
		return
	}
	next := Param{Value: in.Value, Type: cmp.Or(in.Type, "String"), Version: 1}
	if p != nil {
		next.Version = p.Version + 1
		next.Type = cmp.Or(in.Type, p.Type)
	}
	if next.Type == "SecureString" {
		next.KeyID = cmp.Or(in.KeyId, "alias/aws/ssm")
	}
	f.params[in.Name] = &next
	a.ok(map[string]any{"Version": next.Version, "Tier": "Standard"})
}

func (f *AWS) sendMessage(a awsAnswer, in awsInput) {
	msgs, ok := f.queues[in.QueueUrl]
	switch {
	case !ok:
		a.w.Header().Set("X-Amzn-Query-Error", "AWS.SimpleQueueService.NonExistentQueue;Sender")
		a.fail(400, "com.amazonaws.sqs#QueueDoesNotExist", "The specified queue does not exist.")
		return
	case in.MessageBody == "":
		a.fail(400, "com.amazonaws.sqs#MissingRequiredParameterException", "The request must contain the parameter MessageBody.")
		return
	}
	f.queues[in.QueueUrl] = append(msgs, in.MessageBody)
	sum := md5.Sum([]byte(in.MessageBody))
	a.ok(map[string]any{"MD5OfMessageBody": hex.EncodeToString(sum[:]), "MessageId": newID()})
}

// changeVisibility checks the call as SQS does (a queue, a receipt handle, 0 to 43200 seconds)
// and records it; the fake keeps no messages in flight.
func (f *AWS) changeVisibility(a awsAnswer, in awsInput) {
	switch _, ok := f.queues[in.QueueUrl]; {
	case !ok:
		a.fail(400, "com.amazonaws.sqs#QueueDoesNotExist", "The specified queue does not exist.")
		return
	case in.ReceiptHandle == "":
		a.fail(400, "com.amazonaws.sqs#MissingRequiredParameterException", "The request must contain the parameter ReceiptHandle.")
		return
	case in.VisibilityTimeout == nil || *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > 43200:
		a.fail(400, "com.amazonaws.sqs#InvalidParameterValueException", "Value for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.")
		return
	}
	f.visible = append(f.visible, Visibility{QueueURL: in.QueueUrl, ReceiptHandle: in.ReceiptHandle, Timeout: *in.VisibilityTimeout})
	a.ok(map[string]any{})
}

// awsAnswer writes the answers of the AWS JSON protocols.
type awsAnswer struct {
	w           http.ResponseWriter
	contentType string
}

func (a awsAnswer) ok(v any) {
	a.w.Header().Set("Content-Type", a.contentType)
	a.w.Header().Set("X-Amzn-Requestid", newID())
	json.NewEncoder(a.w).Encode(v)
}

// fail answers an AWS error: the code in __type and X-Amzn-Errortype, the message in message.
func (a awsAnswer) fail(status int, code, message string) {
	a.w.Header().Set("Content-Type", a.contentType)
	a.w.Header().Set("X-Amzn-Requestid", newID())
	a.w.Header().Set("X-Amzn-Errortype", code)
	a.w.WriteHeader(status)
	out := map[string]string{"__type": code}
	if message != "" {
		out["message"] = message
	}
	json.NewEncoder(a.w).Encode(out)
}

func (a awsAnswer) fault(f Fault) {
	switch {
	case f.Drop:
		drop(a.w)
	case f.Body != "":
		a.w.Header().Set("Content-Type", a.contentType)
		a.w.Header().Set("X-Amzn-Requestid", newID())
		a.w.WriteHeader(cmp.Or(f.Status, http.StatusOK))
		io.WriteString(a.w, f.Body)
	case f.Code != "":
		a.fail(cmp.Or(f.Status, http.StatusBadRequest), f.Code, f.Message)
	default:
		gatewayPage(a.w, cmp.Or(f.Status, http.StatusInternalServerError))
	}
}
