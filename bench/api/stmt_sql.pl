#!/usr/bin/perl
# Prints the SQL of a statement of the API module, as compiled in:
#   stmt_sql.pl <file.c> <statement name>
# It reads the ngx_http_twitch_pg_stmt_t initializer whose first member is
# "<statement name>" and joins its string literals, so a benchmark runs
# exactly the SQL the module runs.

use strict;
use warnings;

my ($file, $name) = @ARGV;
die "usage: $0 <file.c> <statement name>\n" unless defined $name;

open my $fh, '<', $file or die "$file: $!\n";
my $src = do { local $/; <$fh> };

$src =~ /ngx_http_twitch_pg_stmt_t\s+\w+\s*=\s*\{\s*"\Q$name\E"\s*,(.*?)\n\s*\d+\s*,\s*0\s*\n?\s*\}/s
    or die "statement \"$name\" not found in $file\n";

my $body = $1;
my $sql = '';
$sql .= $1 while $body =~ /"((?:[^"\\]|\\.)*)"/g;
$sql =~ s/\\"/"/g;
$sql =~ s/\\\\/\\/g;

print "$sql\n";
