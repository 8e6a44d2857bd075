//go:build duckdb_arrow

package sfstandin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

func randomHex() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type loginRequest struct {
	Data struct {
		AccountName       string         `json:"ACCOUNT_NAME"`
		LoginName         string         `json:"LOGIN_NAME"`
		Password          string         `json:"PASSWORD"`
		Token             string         `json:"TOKEN"`
		Authenticator     string         `json:"AUTHENTICATOR"`
		SessionParameters map[string]any `json:"SESSION_PARAMETERS"`
	} `json:"data"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.take(w, RouteLogin) {
		return
	}
	var req loginRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d := req.Data
	q := r.URL.Query()
	info := LoginInfo{
		Authenticator: strings.ToUpper(d.Authenticator), Account: d.AccountName, User: d.LoginName,
		Database: q.Get("databaseName"), Schema: q.Get("schemaName"),
		Warehouse: q.Get("warehouse"), Role: q.Get("roleName"),
	}
	for k, v := range d.SessionParameters {
		if strings.EqualFold(k, "QUERY_TAG") {
			info.QueryTag = fmt.Sprint(v)
		}
	}
	if info.Authenticator == "" {
		info.Authenticator = "SNOWFLAKE"
	}
	code, msg := s.checkLogin(info, d.Password, d.Token)
	info.OK = code == ""

	s.mu.Lock()
	defer s.mu.Unlock()
	s.logins = append(s.logins, info)
	if code != "" {
		replyCode(w, false, code, msg, nil)
		return
	}
	if info.Database == "" {
		info.Database = s.opts.Database
	}
	if info.Schema == "" {
		info.Schema = s.opts.Schema
	}
	s.seq++
	sess := &session{
		id: s.seq, master: "master-" + randomHex(),
		database: strings.ToUpper(info.Database), schema: strings.ToUpper(info.Schema),
		warehouse: info.Warehouse, role: info.Role, queryTag: info.QueryTag,
	}
	s.newSessionTokens(sess)
	s.masters[sess.master] = sess
	reply(w, map[string]any{
		"token": sess.token, "validityInSeconds": 3600,
		"masterToken": sess.master, "masterValidityInSeconds": 14400,
		"sessionId": sess.id, "serverVersion": "standin",
		"sessionInfo": map[string]string{
			"databaseName": sess.database, "schemaName": sess.schema,
			"warehouseName": sess.warehouse, "roleName": sess.role,
		},
		"parameters": []map[string]any{
			{"name": "TIMEZONE", "value": "UTC"},
			{"name": "CLIENT_TELEMETRY_ENABLED", "value": true},
			{"name": "CLIENT_SESSION_KEEP_ALIVE_HEARTBEAT_FREQUENCY", "value": 3600},
		},
	})
}

// checkLogin returns Snowflake's error code and message for a refused
// login, or "" when it is accepted.
func (s *Server) checkLogin(info LoginInfo, password, token string) (string, string) {
	if !strings.EqualFold(info.Account, s.opts.Account) {
		return "390201", fmt.Sprintf("The requested account %q does not exist.", info.Account)
	}
	switch info.Authenticator {
	case "SNOWFLAKE":
		if s.opts.Password != "" && password != s.opts.Password {
			return "390100", "Incorrect username or password was specified."
		}
	case "SNOWFLAKE_JWT":
		if s.opts.PublicKey != nil && !s.validJWT(token, info) {
			return "390144", "JWT token is invalid."
		}
	case "OAUTH":
		if s.opts.OAuthToken != "" && token != s.opts.OAuthToken {
			return "390303", "Invalid OAuth access token."
		}
	default:
		return "390100", "the stand-in does not support authenticator " + info.Authenticator
	}
	return "", ""
}

// validJWT checks a key-pair login token: RS256, signed by the configured
// key, subject ACCOUNT.USER, issuer ACCOUNT.USER.SHA256:<key fingerprint>.
func (s *Server) validJWT(token string, info LoginInfo) bool {
	claims := jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.opts.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired())
	// The login body names no user for a key-pair login; the subject does.
	account := strings.ToUpper(info.Account) + "."
	return err == nil && strings.HasPrefix(claims.Subject, account) &&
		claims.Issuer == claims.Subject+".SHA256:"+s.keyFingerprint()
}

// keyFingerprint is how Snowflake names a public key: the base64 SHA-256
// of its PKIX encoding.
func (s *Server) keyFingerprint() string {
	der, err := x509.MarshalPKIXPublicKey(s.opts.PublicKey)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// renew swaps an expired session token for a new one, as
// /session/token-request does, authorised by the master token.
func (s *Server) renew(w http.ResponseWriter, r *http.Request) {
	if s.take(w, RouteToken) {
		return
	}
	master := strings.TrimSuffix(strings.TrimPrefix(r.Header.Get("Authorization"), `Snowflake Token="`), `"`)
	var req struct {
		OldSessionToken string `json:"oldSessionToken"`
		RequestType     string `json:"requestType"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.masters[master]
	if sess == nil || req.RequestType != "RENEW" {
		replyCode(w, false, "390114", "Authentication token has expired.  The user must authenticate again.", nil)
		return
	}
	delete(s.sessions, sess.token)
	s.newSessionTokens(sess)
	reply(w, map[string]any{
		"sessionToken": sess.token, "validityInSecondsST": 3600,
		"masterToken": sess.master, "validityInSecondsMT": 14400, "sessionId": sess.id,
	})
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("delete") != "true" {
		http.NotFound(w, r)
		return
	}
	if s.take(w, RouteSession) {
		return
	}
	tok := strings.TrimSuffix(strings.TrimPrefix(r.Header.Get("Authorization"), `Snowflake Token="`), `"`)
	s.mu.Lock()
	if sess := s.sessions[tok]; sess != nil {
		delete(s.sessions, tok)
		delete(s.masters, sess.master)
	}
	s.mu.Unlock()
	reply(w, nil)
}
