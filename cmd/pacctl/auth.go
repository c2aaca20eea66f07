package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/openpacific/pacific/sdk/client"
	authv1 "github.com/openpacific/pacific/sdk/gen/pacific/auth/v1"
)

// maxSecretInput bounds what pacctl reads as a password or SAML token.
const maxSecretInput = 1 << 20

func newLoginCommand(a *app) *cobra.Command {
	var o struct {
		username      string
		passwordStdin bool
		sso           bool
		samlFile      string
		stsURL        string
	}
	cmd := &cobra.Command{
		Use:   "login --server ADDR (--username NAME --password-stdin | --sso [--saml-file FILE] | --sso --sts-url URL --username NAME --password-stdin)",
		Short: "Log in and save the tokens in the client config (mode 0600)",
		Long: "Log in as a local user (--username, password on stdin) or with a vSphere SSO\n" +
			"SAML bearer token (--sso; the token's XML from --saml-file or stdin, or, with\n" +
			"--sts-url, issued by the vSphere STS for --username and the password on stdin). The\n" +
			"access token and its refresh token go into the config file (--config), in a\n" +
			"context named after the user that becomes current; pacctl refreshes the\n" +
			"access token when it expires.",
		Args: argsExactly(0, "takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.stsURL != "" && !o.sso:
				return usageError{errors.New("--sts-url needs --sso")}
			case o.stsURL != "" && (o.username == "" || !o.passwordStdin):
				return usageError{errors.New("--sts-url needs --username NAME and --password-stdin")}
			case o.stsURL != "" && cmd.Flags().Changed("saml-file"):
				return usageError{errors.New("--sts-url and --saml-file exclude each other")}
			case o.stsURL != "":
			case o.sso && o.username != "":
				return usageError{errors.New("--sso and --username exclude each other (except with --sts-url)")}
			case !o.sso && o.username == "":
				return usageError{errors.New("--username NAME (with --password-stdin) or --sso is required")}
			case !o.sso && !o.passwordStdin:
				return usageError{errors.New("--password-stdin is required: pacctl reads passwords only from stdin")}
			}
			return a.login(cmd.Context(), loginRequest{username: o.username, sso: o.sso, samlFile: o.samlFile, stsURL: o.stsURL})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.username, "username", "", "local user name")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from stdin (first line)")
	f.BoolVar(&o.sso, "sso", false, "exchange a vSphere SSO SAML bearer token")
	f.StringVar(&o.samlFile, "saml-file", "-", "file holding the SAML token (XML, or base64 of it); - for stdin")
	f.StringVar(&o.stsURL, "sts-url", "", "with --sso: get the SAML token from this vSphere STS (https; http only on loopback)")
	return cmd
}

// loginTarget is where login talks to and the config it writes.
func (a *app) loginTarget() (path string, cfg *client.Config, server string, err error) {
	path, _, err = client.ConfigPath(a.flags.config)
	if err != nil {
		return "", nil, "", err
	}
	cfg, err = client.LoadConfigFile(path)
	switch {
	case client.IsNotExist(err):
		cfg = &client.Config{}
	case err != nil:
		return "", nil, "", err
	}
	server = a.flags.server
	if server == "" {
		if cctx, err := cfg.Context(a.flags.context); err == nil {
			server = strings.Join(cctx.Addresses(), ",")
		}
	}
	if server == "" {
		return "", nil, "", usageError{errors.New("--server ADDR is required (no context in " + path + " names a server)")}
	}
	return path, cfg, server, nil
}

// anonymousClient talks to server without any credential (login, refresh),
// trusting caPEM for the server's certificate.
func (a *app) anonymousClient(server string, caPEM []byte) (authv1.AuthServiceClient, func(), error) {
	c, err := client.New(client.Options{Servers: strings.Split(server, ","), CAPEM: caPEM, UserAgent: "pacctl/" + version(), ConnectTimeout: connectTimeout})
	if err != nil {
		return nil, nil, err
	}
	a.target = server
	return authv1.NewAuthServiceClient(c.Conn()), func() { c.Close() }, nil
}

// loginRequest is how the user asked to log in.
type loginRequest struct {
	username string
	sso      bool
	samlFile string
	stsURL   string
}

func (a *app) login(ctx context.Context, req loginRequest) error {
	path, cfg, server, err := a.loginTarget()
	if err != nil {
		return err
	}
	caPEM, err := a.loginCA(ctx, cfg, server)
	if err != nil {
		return err
	}
	auth, done, err := a.anonymousClient(server, caPEM)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := a.requestContext(ctx)
	defer cancel()
	var tokens *authv1.Tokens
	if req.sso {
		assertion, err := a.samlAssertion(ctx, req)
		if err != nil {
			return err
		}
		resp, err := auth.ExchangeSAML(ctx, &authv1.ExchangeSAMLRequest{Assertion: assertion})
		if err != nil {
			if st, ok := status.FromError(err); ok && st.Code() == codes.Unauthenticated && req.stsURL != "" {
				return fmt.Errorf("Unauthenticated: the STS issued a SAML token but the server refused it: %s", st.Message())
			}
			return err
		}
		tokens = resp.GetTokens()
	} else {
		password, err := readFirstLine(a.stdin)
		if err != nil {
			return fmt.Errorf("read the password from stdin: %w", err)
		}
		resp, err := auth.Login(ctx, &authv1.LoginRequest{Username: req.username, Password: password})
		if err != nil {
			return err
		}
		tokens = resp.GetTokens()
	}
	name := contextName(tokens.GetUser())
	cctx := client.Context{Name: name, Namespace: ""}
	if old, err := cfg.Context(name); err == nil {
		cctx = *old
	}
	servers := strings.Split(server, ",")
	cctx.Server, cctx.Servers = servers[0], servers[1:]
	cctx.User, cctx.Token, cctx.RefreshToken = tokens.GetUser(), tokens.GetAccessToken(), tokens.GetRefreshToken()
	cctx.CertificateAuthorityData = string(caPEM)
	cfg.SetContext(cctx)
	cfg.CurrentContext = name
	if err := cfg.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Logged in as %s; context %q in %s is current.\n", tokens.GetUser(), name, path)
	return nil
}

// contextName turns a user name into a valid context name.
func contextName(user string) string {
	if user == "" {
		return "pacific"
	}
	return strings.NewReplacer("@", "-at-", "\\", "-", "/", "-").Replace(strings.ToLower(user))
}

// samlAssertion gets the SAML token from the STS or from a file or stdin.
func (a *app) samlAssertion(ctx context.Context, req loginRequest) ([]byte, error) {
	if req.stsURL == "" {
		return a.readSAML(req.samlFile)
	}
	if _, err := parseSTSURL(req.stsURL); err != nil {
		return nil, usageError{err}
	}
	password, err := readFirstLine(a.stdin)
	if err != nil {
		return nil, fmt.Errorf("read the password from stdin: %w", err)
	}
	return fetchSAML(ctx, req.stsURL, req.username, password)
}

func (a *app) readSAML(file string) ([]byte, error) {
	var r io.Reader = a.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--saml-file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretInput+1))
	if err != nil {
		return nil, fmt.Errorf("read the SAML token: %w", err)
	}
	if len(b) > maxSecretInput {
		return nil, fmt.Errorf("the SAML token is larger than %d bytes", maxSecretInput)
	}
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) == 0 {
		return nil, errors.New("the SAML token is empty")
	}
	if b[0] != '<' { // base64 of the XML, as SSO tools often print it
		dec, err := base64.StdEncoding.DecodeString(string(b))
		if err != nil {
			return nil, errors.New("the SAML token is neither XML nor base64 of XML")
		}
		b = dec
	}
	return b, nil
}

func readFirstLine(r io.Reader) (string, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxSecretInput))
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", err
		}
		return "", errors.New("nothing on stdin")
	}
	line := strings.TrimRight(sc.Text(), "\r")
	if line == "" {
		return "", errors.New("empty password")
	}
	return line, nil
}

func newLogoutCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the current context's tokens and remove them from the config",
		Args:  argsExactly(0, "takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.logout(cmd.Context())
		},
	}
}

func (a *app) logout(ctx context.Context) error {
	path, _, err := client.ConfigPath(a.flags.config)
	if err != nil {
		return err
	}
	cfg, err := client.LoadConfigFile(path)
	if err != nil {
		return err
	}
	cctx, err := cfg.Context(a.flags.context)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if cctx.Token != "" {
		c, err := a.client()
		if err != nil {
			return err
		}
		ctx, cancel := a.requestContext(ctx)
		defer cancel()
		if _, err := authv1.NewAuthServiceClient(c.Conn()).Logout(ctx, &authv1.LogoutRequest{RefreshToken: cctx.RefreshToken}); err != nil {
			return err
		}
	}
	cctx.Token, cctx.RefreshToken = "", ""
	if err := cfg.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Logged out of context %q.\n", cctx.Name)
	return nil
}

func newUserCommand(a *app) *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "Manage local users (cluster admins)"}
	var groups []string
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create NAME --password-stdin [--group G]",
		Short: "Create a local user; the password is read from stdin",
		Args:  argsExactly(1, "name the user"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !passwordStdin {
				return usageError{errors.New("--password-stdin is required: pacctl reads passwords only from stdin")}
			}
			password, err := readFirstLine(a.stdin)
			if err != nil {
				return fmt.Errorf("read the password from stdin: %w", err)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.requestContext(cmd.Context())
			defer cancel()
			if _, err := authv1.NewAuthServiceClient(c.Conn()).CreateUser(ctx, &authv1.CreateUserRequest{Name: args[0], Password: password, Groups: groups}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "user/%s created\n", args[0])
			return nil
		},
	}
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin (first line)")
	create.Flags().StringSliceVar(&groups, "group", nil, "group the user is in (repeatable)")
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a local user",
		Args:  argsExactly(1, "name the user"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.requestContext(cmd.Context())
			defer cancel()
			if _, err := authv1.NewAuthServiceClient(c.Conn()).DeleteUser(ctx, &authv1.DeleteUserRequest{Name: args[0]}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "user/%s deleted\n", args[0])
			return nil
		},
	}
	user.AddCommand(create, del)
	return user
}

func newAuthCommand(a *app) *cobra.Command {
	auth := &cobra.Command{Use: "auth", Short: "Inspect your access"}
	var all bool
	canI := &cobra.Command{
		Use:   "can-i VERB KIND [NAME]",
		Short: "Say whether you may do VERB on KIND (exit 0 yes, 1 no)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 || len(args) > 3 {
				return usageError{fmt.Errorf("%s: name a verb and a kind, e.g. can-i list pods -n demo", cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			req := &authv1.CheckAccessRequest{Verb: args[0], Resource: args[1], Namespace: a.defaultNamespace(), AllNamespaces: all}
			if len(args) == 3 {
				req.Name = args[2]
			}
			ctx, cancel := a.requestContext(cmd.Context())
			defer cancel()
			resp, err := authv1.NewAccessServiceClient(c.Conn()).CheckAccess(ctx, req)
			if err != nil {
				return err
			}
			if resp.GetAllowed() {
				fmt.Fprintln(a.stdout, "yes")
				return nil
			}
			fmt.Fprintln(a.stdout, "no")
			a.exitCode = 1
			return nil
		},
	}
	canI.Flags().BoolVarP(&all, "all-namespaces", "A", false, "ask about every namespace")
	whoami := &cobra.Command{
		Use:   "whoami",
		Short: "Print your user and groups",
		Args:  argsExactly(0, "takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.requestContext(cmd.Context())
			defer cancel()
			resp, err := authv1.NewAccessServiceClient(c.Conn()).WhoAmI(ctx, &authv1.WhoAmIRequest{})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "user: %s\ngroups: %s\n", resp.GetUser(), strings.Join(resp.GetGroups(), ", "))
			return nil
		},
	}
	var tokenGroups []string
	var ttl time.Duration
	token := &cobra.Command{
		Use:   "token USER [--group G] [--ttl D]",
		Short: "Print an access token for any identity, e.g. a service run as its own process (cluster admins)",
		Long: "Print an access token for any identity (cluster admins only), e.g. for\n" +
			"'pacific scheduler --token-file' (user system:scheduler) or 'pacific hostagent\n" +
			"--token-file' (user system:host:NAME, group system:hosts). Until mTLS client\n" +
			"certificates replace them, such tokens are how separately run services\n" +
			"authenticate. Treat the output as a secret.",
		Args: argsExactly(1, "name the user the token is for"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.requestContext(cmd.Context())
			defer cancel()
			resp, err := authv1.NewAuthServiceClient(c.Conn()).IssueToken(ctx, &authv1.IssueTokenRequest{User: args[0], Groups: tokenGroups, TtlSeconds: int64(ttl / time.Second)})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, resp.GetAccessToken())
			return nil
		},
	}
	token.Flags().StringSliceVar(&tokenGroups, "group", nil, "group of the identity (repeatable)")
	token.Flags().DurationVar(&ttl, "ttl", time.Hour, "how long the token is valid (at most 720h)")
	auth.AddCommand(canI, whoami, token)
	return auth
}

// refreshIfExpired trades the context's refresh token for new tokens when
// its access token has expired (or will within a minute), and saves them.
func (a *app) refreshIfExpired(path string, cfg *client.Config, cctx *client.Context) error {
	if cctx.RefreshToken == "" || cctx.Token == "" || !tokenExpiresBefore(cctx.Token, a.now().Add(time.Minute)) {
		return nil
	}
	auth, done, err := a.anonymousClient(strings.Join(cctx.Addresses(), ","), []byte(cctx.CertificateAuthorityData))
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := auth.Refresh(ctx, &authv1.RefreshRequest{RefreshToken: cctx.RefreshToken})
	if err != nil {
		return fmt.Errorf("refresh the expired token of context %q: %w", cctx.Name, err)
	}
	cctx.Token, cctx.RefreshToken = resp.GetTokens().GetAccessToken(), resp.GetTokens().GetRefreshToken()
	return cfg.Save(path)
}

// tokenExpiresBefore reads a JWT's exp claim without verifying it (the
// server verifies; this only decides when to refresh).
func tokenExpiresBefore(tok string, t time.Time) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil || c.Exp == 0 {
		return false
	}
	return time.Unix(c.Exp, 0).Before(t)
}
