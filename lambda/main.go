// Command bootstrap is the orgpatch Lambda: it builds the management
// account's clients from the environment and hands every invocation to
// internal/handler. Built for provided.al2023 on arm64:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./lambda
//
// Environment:
//
//	ORGPATCH_CONFIG_PARAMETER  SSM parameter holding the configuration (default /orgpatch/configuration)
//	ORGPATCH_CONCURRENCY       targets worked on at once (default 64)
//	ORGPATCH_ENDPOINT          base endpoint of every AWS client, for a simulator (default: AWS)
//	LOG_LEVEL                  DEBUG, INFO, WARN or ERROR (default INFO)
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/handler"
)

func main() {
	if err := start(); err != nil {
		slog.Error("orgpatch cannot start", "error", err)
		os.Exit(1)
	}
}

func start() error {
	var level slog.Level
	if v := os.Getenv("LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(strings.ToUpper(v))); err != nil {
			return fmt.Errorf("LOG_LEVEL %q: want DEBUG, INFO, WARN or ERROR", v)
		}
	}
	log := handler.NewLogger(os.Stdout, level)
	slog.SetDefault(log)

	concurrency := 0
	if v := os.Getenv("ORGPATCH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("ORGPATCH_CONCURRENCY %q: want a whole number from 1 to 1000", v)
		}
		concurrency = n
	}

	cfg, err := awsconf.Load(context.Background(), awsconf.Options{Endpoint: os.Getenv("ORGPATCH_ENDPOINT")})
	if err != nil {
		return err
	}
	h := handler.New(handler.Deps{
		Management:      cfg,
		ConfigParameter: os.Getenv("ORGPATCH_CONFIG_PARAMETER"),
		Concurrency:     concurrency,
		Logger:          log,
	})
	lambda.Start(h.Invoke)
	return nil
}
