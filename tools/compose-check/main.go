// compose-check loads a compose file the way Docker Compose does (compose-go, its loader) and prints the
// normalized project as JSON, or the loader's error on stderr with exit status 1.
//
//	compose-check -f docker-compose.yml [--env-file .env] [--profile sandbox]... [--declared-environment]
//
// --declared-environment leaves each service's environment as the compose file declares it, without the
// contents of its env_file.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var files, envFiles, profiles list
	flag.Var(&files, "f", "compose file (repeatable)")
	flag.Var(&envFiles, "env-file", "env file for interpolation (repeatable; default: .env beside the compose file)")
	flag.Var(&profiles, "profile", "profile to enable (repeatable)")
	declared := flag.Bool("declared-environment", false, "do not merge env_file contents into environment")
	flag.Parse()
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-check -f docker-compose.yml [--env-file FILE] [--profile NAME]")
		os.Exit(2)
	}

	// Only the variables of the env files interpolate: the caller's own environment must not make a broken file pass.
	os.Clearenv()
	options := []cli.ProjectOptionsFn{
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
		cli.WithName("compose-check"),
		cli.WithResolvedPaths(true),
	}
	if *declared {
		options = append(options, cli.WithoutEnvironmentResolution)
	}
	opts, err := cli.NewProjectOptions(files, options...)
	if err == nil {
		p, loadErr := opts.LoadProject(context.Background())
		if loadErr == nil {
			out, marshalErr := p.MarshalJSON()
			if marshalErr == nil {
				os.Stdout.Write(out)
				os.Stdout.WriteString("\n")
				return
			}
			err = marshalErr
		} else {
			err = loadErr
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
